{{ config(materialized='table') }}

{#- One row per day for MetricFlow (its time spine): 2000-01-01 to 2040-12-31, from a cross
    join of digits (portable: no generate_series, no query at compile time). -#}

with

digits as (

    select 0 as d
    union all
    select 1
    union all
    select 2
    union all
    select 3
    union all
    select 4
    union all
    select 5
    union all
    select 6
    union all
    select 7
    union all
    select 8
    union all
    select 9

),

numbers as (

    select ones.d + 10 * tens.d + 100 * hundreds.d + 1000 * thousands.d + 10000 * ten_thousands.d as n
    from digits as ones
    cross join digits as tens
    cross join digits as hundreds
    cross join digits as thousands
    cross join digits as ten_thousands

),

final as (

    select cast({{ dbt.dateadd('day', 'n', "cast('2000-01-01' as date)") }} as date) as date_day
    from numbers
    where n < 14976

)

select * from final

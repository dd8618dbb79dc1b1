{{ config(materialized='table') }}

{#- One row per day for MetricFlow (its time spine): 2000-01-01 to 2040-12-31. -#}

with

days as (

    {{ dbt.date_spine('day', "cast('2000-01-01' as date)", "cast('2041-01-01' as date)") }}

),

final as (

    select cast(date_day as date) as date_day
    from days

)

select * from final

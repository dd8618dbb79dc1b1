with

daily_counts as (

    select * from {{ ref('int_nps_daily_counts') }}

),

final as (

    select
        response_date,
        responses,
        promoters,
        passives,
        detractors,
        {{ nps_columns() }}

    from daily_counts
    where responses > 0

)

select * from final

with

daily_counts as (

    select * from {{ ref('int_nps_daily_counts') }}

),

monthly_counts as (

    select
        cast({{ dbt.date_trunc('month', 'response_date') }} as date) as response_month,
        cast(sum(responses) as {{ dbt.type_bigint() }}) as responses,
        cast(sum(promoters) as {{ dbt.type_bigint() }}) as promoters,
        cast(sum(passives) as {{ dbt.type_bigint() }}) as passives,
        cast(sum(detractors) as {{ dbt.type_bigint() }}) as detractors

    from daily_counts
    group by 1

),

final as (

    select
        response_month,
        responses,
        promoters,
        passives,
        detractors,
        -- from the month's counts, never an average of daily NPS
        {{ nps_score('promoters', 'detractors', 'responses') }} as nps

    from monthly_counts
    where responses > 0

)

select * from final

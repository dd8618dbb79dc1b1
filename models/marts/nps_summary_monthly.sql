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

months as (

    select
        response_month,
        responses,
        promoters,
        passives,
        detractors,
        -- from the month's counts, never an average of daily NPS
        {{ nps_columns() }}

    from monthly_counts
    where responses > 0

),

with_previous as (

    -- the previous month that has responses (a month without any has no row)
    select
        *,
        lag(nps) over (order by response_month) as previous_nps,
        lag(promoters) over (order by response_month) as previous_promoters,
        lag(detractors) over (order by response_month) as previous_detractors,
        lag(responses) over (order by response_month) as previous_responses

    from months

),

final as (

    select
        response_month,
        responses,
        promoters,
        passives,
        detractors,
        nps,
        nps_ci_low,
        nps_ci_high,
        is_small_sample,
        cast(previous_nps as numeric(6, 2)) as previous_nps,
        cast(nps - previous_nps as numeric(7, 2)) as nps_change,
        case
            when previous_responses is not null
                then {{ nps_change_is_significant(
                    ('promoters', 'detractors', 'responses'),
                    ('previous_promoters', 'previous_detractors', 'previous_responses')
                ) }}
        end as change_is_significant

    from with_previous

)

select * from final

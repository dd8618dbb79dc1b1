with

daily_counts as (

    select * from {{ ref('int_nps_daily_counts') }}

),

certificates as (

    {{ nps_latest_certificates() }}

),

monthly_counts as (

    select
        cast({{ dbt.date_trunc('month', 'daily_counts.response_date') }} as date) as response_month,
        cast(sum(daily_counts.responses) as {{ dbt.type_bigint() }}) as responses,
        cast(sum(daily_counts.promoters) as {{ dbt.type_bigint() }}) as promoters,
        cast(sum(daily_counts.passives) as {{ dbt.type_bigint() }}) as passives,
        cast(sum(daily_counts.detractors) as {{ dbt.type_bigint() }}) as detractors,
        -- days with responses whose certificate still holds (as nps_summary_daily.certified_at)
        cast(sum(
            case
                when
                    daily_counts.responses > 0
                    and certificates.certified_at >= daily_counts._batch_at
                    then 1
                else 0
            end
        ) as {{ dbt.type_bigint() }}) as certified_days

    from daily_counts
    left join certificates on daily_counts.response_date = certificates.response_date
    group by 1

),

months as (

    select
        response_month,
        responses,
        promoters,
        passives,
        detractors,
        certified_days,
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
        end as change_is_significant,
        certified_days

    from with_previous

)

select * from final

{#-
    One row per local day with responses: is the day's volume far below its usual, and does
    its NPS move beyond what its sample explains? A view over the daily counts (a restated
    day is re-evaluated with it).

    - expected_responses: the median of the same weekday's responses in the trailing
      nps_monitor_weeks weeks (a weekday with no answer counts 0; weeks before the first day
      with answers do not count); is_low_volume: responses below nps_low_volume_ratio of it.
    - nps_z: the day's adjusted-Wald NPS against the trailing 28 days' (the days before it),
      z = (c1 - c2) / sqrt(var1 / n1' + var2 / n2') with the variance the intervals use, so a
      12-answer day that swings 40 points is not unusual and a 5,000-answer day that moves 4
      points is; is_unusual_nps: |z| above nps_unusual_z.
-#}

{%- set weeks = nps_monitor_weeks() %}

with

daily_counts as (

    select * from {{ ref('int_nps_daily_counts') }}

),

days as (

    select * from daily_counts
    where responses > 0

),

history_start as (

    select min(response_date) as first_day from days

),

same_weekdays as (

    {% for k in range(1, weeks + 1) -%}
    select
        days.response_date,
        {{ dbt.dateadd('day', -7 * k, 'days.response_date') }} as earlier_date
    from days
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

earlier_volumes as (

    select
        same_weekdays.response_date,
        coalesce(earlier.responses, 0) as responses

    from same_weekdays
    cross join history_start
    left join daily_counts as earlier
        on same_weekdays.earlier_date = earlier.response_date
    where same_weekdays.earlier_date >= history_start.first_day

),

ranked_volumes as (

    select
        response_date,
        responses,
        row_number() over (partition by response_date order by responses) as volume_rank,
        count(*) over (partition by response_date) as volumes

    from earlier_volumes

),

expected as (

    {#- the median, portably (Redshift's PERCENTILE_CONT needs a table, not a fixture): the
        middle value, or the mean of the two middle ones (2 * volume_rank is volumes + 1 for
        an odd count, volumes or volumes + 2 for an even one) -#}
    select
        response_date,
        avg(cast(responses as numeric(18, 1))) as expected_responses

    from ranked_volumes
    where 2 * volume_rank between volumes and volumes + 2
    group by response_date

),

last_28_days as (

    select
        days.response_date,
        sum(earlier.responses) as responses,
        sum(earlier.promoters) as promoters,
        sum(earlier.detractors) as detractors

    from days
    inner join daily_counts as earlier
        on
            days.response_date > earlier.response_date
            and {{ dbt.dateadd('day', -28, 'days.response_date') }} <= earlier.response_date
    group by days.response_date

),

adjusted as (

    {#- the adjusted-Wald difference and variance / n' of the day and of the 28 days before it -#}
    select
        days.response_date,
        days.responses,
        expected.expected_responses,
        {{ nps_score('days.promoters', 'days.detractors', 'days.responses') }} as nps,
        past.responses as trailing_responses,
        {{ nps_score('past.promoters', 'past.detractors', 'past.responses') }} as trailing_nps,
        {{ nps_adjusted_difference('days.promoters', 'days.detractors', 'days.responses') }} as day_centre,
        {{ nps_adjusted_variance_over_n('days.promoters', 'days.detractors', 'days.responses') }}
            as day_variance,
        {{ nps_adjusted_difference('past.promoters', 'past.detractors', 'past.responses') }} as past_centre,
        {{ nps_adjusted_variance_over_n('past.promoters', 'past.detractors', 'past.responses') }}
            as past_variance

    from days
    left join expected on days.response_date = expected.response_date
    left join last_28_days as past on days.response_date = past.response_date

),

scored as (

    select
        response_date,
        responses,
        expected_responses,
        nps,
        trailing_responses,
        trailing_nps,
        case
            when trailing_responses > 0
                then (day_centre - past_centre) / sqrt(day_variance + past_variance)
        end as z

    from adjusted

),

final as (

    select
        response_date,
        cast(responses as {{ dbt.type_bigint() }}) as responses,
        cast(round(cast(expected_responses as numeric(18, 6)), 1) as numeric(12, 1)) as expected_responses,
        coalesce(responses < {{ nps_low_volume_ratio() }} * expected_responses, false) as is_low_volume,
        nps,
        cast(trailing_responses as {{ dbt.type_bigint() }}) as trailing_responses,
        trailing_nps,
        cast(round(cast(z as numeric(18, 6)), 2) as numeric(8, 2)) as nps_z,
        coalesce(abs(z) > {{ nps_unusual_z() }}, false) as is_unusual_nps

    from scored

)

select * from final

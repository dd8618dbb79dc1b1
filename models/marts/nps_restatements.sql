{{
    config(
        materialized='incremental',
        incremental_strategy='append',
        on_schema_change='fail',
        full_refresh=false,
    )
}}

{#-
    Append-only: one row each time a run changes the numbers of a day or month that was already
    published (had responses), with the numbers before and after and why, in responses. It reads
    the days the latest run of int_nps_daily_counts recounted, so it runs in every dbt run that
    runs the counts (a plain dbt run does: it is downstream of them). A first build, a rebuild
    and a recount that leaves the numbers as they were write none. --full-refresh never drops
    this history (full_refresh: false).
-#}


with

daily_counts as (

    select * from {{ ref('int_nps_daily_counts') }}

),

latest_batch as (

    select max(_batch_at) as batch_at from daily_counts

),

recounted as (

    -- the days the latest run of the daily counts recounted (once: a run that follows and
    -- recounted nothing finds its rows already recorded)
    select daily_counts.* from daily_counts
    inner join latest_batch on daily_counts._batch_at = latest_batch.batch_at
    {% if is_incremental() -%}
        where not exists (
            select 1 from {{ this }} as recorded
            where recorded.restated_at = latest_batch.batch_at
        )
    {%- endif %}

),

restated_days as (

    {{ nps_restatement_columns('day', 'response_date', 'recounted') }}
    where
        recounted.previous_responses is not null  -- a day that had no row is new, not restated
        and ({{ nps_counts_differ('recounted.previous_', 'recounted.') }})
        -- published before: it had responses, or it had them once (a restatement says so)
        and (
            recounted.previous_responses > 0
            {% if is_incremental() -%}
                or exists (
                    select 1 from {{ this }} as earlier
                    where earlier.grain = 'day' and earlier.period = recounted.response_date
                )
            {%- endif %}
        )

),

restated_month_keys as (

    select distinct
        cast({{ dbt.date_trunc('month', 'period') }} as date) as period,
        restated_at
    from restated_days

),

months_before_and_after as (

    -- the month before the run: its recounted days as they were (a new day: nothing), the others
    -- as they are; after: as they are now. A month whose days only grew by new days is not
    -- restated, it is being reported.
    select
        restated_month.period,
        restated_month.restated_at,
        {{ nps_counts_before_batch('month_day', 'restated_month.restated_at') }}

    from restated_month_keys as restated_month
    inner join daily_counts as month_day
        on restated_month.period = cast({{ dbt.date_trunc('month', 'month_day.response_date') }} as date)
    group by restated_month.period, restated_month.restated_at

),

restated_months as (

    {{ nps_restatement_columns('month', 'period', 'months_before_and_after', batch='restated_at') }}
    where {{ nps_counts_differ('months_before_and_after.previous_', 'months_before_and_after.') }}

),

final as (

    select * from restated_days
    union all
    select * from restated_months

)

select * from final

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

{% if is_incremental() -%}
recorded_batches as (

    select distinct restated_at from {{ this }}

),

days_restated_before as (

    select distinct period as response_date from {{ this }} where grain = 'day'

),
{%- endif %}

recounted as (

    -- the days the latest run of the daily counts recounted (once: a run that follows and
    -- recounted nothing finds its rows already recorded). Joins, not correlated subqueries:
    -- Redshift decorrelates subqueries and refuses the patterns it cannot (AWS, "Correlated
    -- subqueries": https://docs.aws.amazon.com/redshift/latest/dg/r_correlated_subqueries.html).
    select
        daily_counts.*,
        {{ 'days_restated_before.response_date is not null' if is_incremental() else 'false' }}
            as was_restated_before
    from daily_counts
    inner join latest_batch on daily_counts._batch_at = latest_batch.batch_at
    {% if is_incremental() -%}
        left join recorded_batches on latest_batch.batch_at = recorded_batches.restated_at
        left join days_restated_before on daily_counts.response_date = days_restated_before.response_date
    where recorded_batches.restated_at is null
    {%- endif %}

),

restated_days as (

    {{ nps_restatement_columns('day', 'response_date', 'recounted') }}
    where
        recounted.previous_responses is not null  -- a day that had no row is new, not restated
        and ({{ nps_counts_differ('recounted.previous_', 'recounted.') }})
        -- published before: it had responses, or it had them once (a restatement says so)
        and (recounted.previous_responses > 0 or recounted.was_restated_before)

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

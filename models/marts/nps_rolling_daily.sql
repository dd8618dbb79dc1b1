{{
    config(
        materialized='incremental',
        incremental_strategy='nps_delete_insert',
        unique_key='response_date',
        on_schema_change='fail',
        full_refresh=false,
        pre_hook=["{{ nps_rebuild_in_place() }}", "{{ nps_forget_recomputed_windows() }}"],
        post_hook=["{{ nps_refresh_statistics() }}",
            {'sql': "{{ nps_reclaim_deleted_rows() }}", 'transaction': false}],
        dist='all',
        sort=['response_date'],
        indexes=nps_indexes([{'columns': ['response_date'], 'unique': true}]),
    )
}}

{#-
    The trailing 7- and 28-day NPS of every local day, from the first day with answers to the
    last, whose 28-day window holds answers (a quiet Sunday inside a busy week has its 7-day
    NPS; the days come from the time spine, not from the days with answers), from the summed
    counts of the window (never an average of days), with their intervals. An incremental run
    recomputes only the windows that contain a day the daily counts recounted since this
    model's last run: a restated old day recomputes the 28 windows that contain it, not the
    history. Its pre-hook first removes the rows of those windows (and any after the last day
    with answers), so a window that lost its last answer loses its row. --full-refresh
    recomputes every day in place (see macros/nps_rebuild.sql).
-#}

{%- set counts_relation = ref('int_nps_daily_counts') -%}
{%- set plan = nps_rolling_plan() -%}

with

daily_counts as (

    select * from {{ counts_relation }}

),

answered_days as (

    select
        min(response_date) as first_day,
        max(response_date) as last_day
    from daily_counts
    where responses > 0

),

window_ends as (

    {#- the time spine's days whose windows a recount touched (every day when rebuilding) -#}
    select spine.date_day as response_date
    from {{ ref('metricflow_time_spine') }} as spine
    cross join answered_days
    where
        spine.date_day between answered_days.first_day and answered_days.last_day
        and {{ nps_rolling_windows_predicate('spine.date_day', plan) if not nps_rebuilding() else '1 = 1' }}

),

windows as (

    select
        window_ends.response_date,
        {{ nps_window_counts('day_counts', 'window_ends.response_date', 7) }},
        {{ nps_window_counts('day_counts', 'window_ends.response_date', 28) }}

    from window_ends
    inner join daily_counts as day_counts
        on
            window_ends.response_date >= day_counts.response_date
            and {{ dbt.dateadd('day', -28, 'window_ends.response_date') }} < day_counts.response_date
    group by window_ends.response_date

),

final as (

    select
        response_date,
        responses_7d,
        promoters_7d,
        passives_7d,
        detractors_7d,
        {{ nps_columns('promoters_7d', 'detractors_7d', 'responses_7d', suffix='_7d') }},
        responses_28d,
        promoters_28d,
        passives_28d,
        detractors_28d,
        {{ nps_columns('promoters_28d', 'detractors_28d', 'responses_28d', suffix='_28d') }},
        (select max(all_counts._batch_at) from daily_counts as all_counts) as _counted_through

    from windows
    where responses_28d > 0

)

select * from final

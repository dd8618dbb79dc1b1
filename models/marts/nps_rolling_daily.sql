{{
    config(
        materialized='incremental',
        incremental_strategy='nps_delete_insert',
        unique_key='response_date',
        on_schema_change='fail',
        full_refresh=false,
        pre_hook=["{{ nps_rebuild_in_place() }}", "{{ nps_forget_days_without_responses() }}"],
        post_hook=["{{ nps_refresh_statistics() }}",
            {'sql': "{{ nps_reclaim_deleted_rows() }}", 'transaction': false}],
        dist='all',
        sort=['response_date'],
        indexes=nps_indexes([{'columns': ['response_date'], 'unique': true}]),
    )
}}

{#-
    The trailing 7- and 28-day NPS of every day that has responses (the days of
    nps_summary_daily), from the summed counts of the window (never an average of days), with
    their intervals. An incremental run recomputes only the days whose windows contain a day the
    daily counts recounted since this model's last run: a restated old day recomputes the 28
    windows that contain it, not the history. A day that lost its last response loses its row
    (pre-hook). --full-refresh recomputes every day in place (see macros/nps_rebuild.sql).
-#}

{%- set counts_relation = ref('int_nps_daily_counts') -%}

with

daily_counts as (

    select * from {{ counts_relation }}

),

changed_days as (

    select response_date from daily_counts
    {% if not nps_rebuilding() -%}
        where _batch_at > coalesce(
            {{ nps_looked_up('select max(stored._counted_through) from ' ~ this ~ ' as stored') }},
            {{ nps_low_timestamp() }})
    {%- endif %}

),

days_to_compute as (

    select distinct window_end.response_date
    from daily_counts as window_end
    inner join changed_days
        on
            window_end.response_date >= changed_days.response_date
            and window_end.response_date <= {{ dbt.dateadd('day', 27, 'changed_days.response_date') }}
    where window_end.responses > 0

),

windows as (

    select
        days_to_compute.response_date,
        {{ nps_window_counts('day_counts', 'days_to_compute.response_date', 7) }},
        {{ nps_window_counts('day_counts', 'days_to_compute.response_date', 28) }}

    from days_to_compute
    inner join daily_counts as day_counts
        on
            days_to_compute.response_date >= day_counts.response_date
            and {{ dbt.dateadd('day', -28, 'days_to_compute.response_date') }} < day_counts.response_date
    group by days_to_compute.response_date

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

)

select * from final

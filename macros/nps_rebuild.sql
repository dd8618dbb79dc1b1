{#-
    `dbt run --full-refresh` on the intermediate tables: they are configured full_refresh: false,
    so dbt keeps them and runs them incrementally; the models see nps_rebuilding() and recompute
    every row from raw, and this pre-hook (inside the model's transaction) empties the table first.
    Readers keep seeing the previous state until the transaction commits, and the mart views
    built on these tables are never dropped.
-#}

{% macro nps_rebuilding() %}
    {{ return(not is_incremental() or flags.FULL_REFRESH) }}
{% endmacro %}


{% macro nps_rebuild_in_place() %}
    {%- if is_incremental() and flags.FULL_REFRESH -%}
        delete from {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}


{#-
    The incremental tables' strategy (dbt's delete+insert, on literals). dbt's own delete+insert
    deletes `where <unique key> in (select ... from <new rows>)`: a join that reads the unique
    key of the whole table, and in a rebuild (emptied by nps_rebuild_in_place) a delete that
    finds nothing. Here a rebuild only inserts, and an incremental run's delete also names, as
    literals, the days of the rows it replaces (looked up in the new rows first): the tables
    are sorted on the day, so a zone map skips every other block.
      - int_nps_responses_current (unique key id): the day each replaced version was counted
        in (previous_response_date of the new rows whose id was stored);
      - the daily tables (unique key response_date): the days recomputed.
-#}

{% macro get_incremental_nps_delete_insert_sql(arg_dict) %}
    {%- set target, source = arg_dict['target_relation'], arg_dict['temp_relation'] -%}
    {%- set unique_key, dest_columns = arg_dict['unique_key'], arg_dict['dest_columns'] -%}
    {%- if nps_rebuilding() -%}
        {{ return(get_delete_insert_merge_sql(target, source, none, dest_columns, none)) }}
    {%- endif -%}
    {%- if unique_key == 'response_date' -%}
        {%- set days_sql = 'select distinct response_date as day from ' ~ source -%}
    {%- else -%}
        {%- set days_sql = 'select distinct previous_response_date as day from ' ~ source
            ~ ' where _previous_batch_at is not null' -%}
    {%- endif -%}
    {%- set days = run_query(days_sql).columns[0].values() -%}
    {%- if days | length == 0 -%}
        {#- nothing stored is replaced: only new rows -#}
        {{ return(get_delete_insert_merge_sql(target, source, none, dest_columns, none)) }}
    {%- endif -%}
    {%- set known = days | reject('none') | map('string') | sort | list -%}
    {%- set parts = [] -%}
    {%- if known -%}
        {%- do parts.append('response_date in (' ~ nps_date_list(known) ~ ')') -%}
    {%- endif -%}
    {%- if none in days -%}
        {%- do parts.append('response_date is null') -%}
    {%- endif -%}
    {%- set predicate = '(' ~ parts | join(' or ') ~ ')' -%}
    {{ return(get_delete_insert_merge_sql(target, source, unique_key, dest_columns, [predicate])) }}
{% endmacro %}


{#-
    Redshift: a DELETE only marks rows, so after the in-place rebuild (nps_rebuild_in_place)
    the table would hold the old rows' blocks beside the new until a VACUUM reclaims them
    (https://docs.aws.amazon.com/redshift/latest/dg/r_DELETE.html,
    https://docs.aws.amazon.com/redshift/latest/dg/t_Reclaiming_storage_space202.html). This post-hook reclaims them
    at once, after the rebuild has committed (VACUUM cannot run in a transaction block:
    https://docs.aws.amazon.com/redshift/latest/dg/r_VACUUM_command.html). TRUNCATE would leave
    no dead rows, but it commits the transaction it runs in
    (https://docs.aws.amazon.com/redshift/latest/dg/r_TRUNCATE.html): readers would see an empty
    table until the rebuild committed. PostgreSQL's autovacuum reclaims them on its own.
-#}

{% macro nps_reclaim_deleted_rows() %}
    {{ return(adapter.dispatch('nps_reclaim_deleted_rows')()) }}
{% endmacro %}


{% macro default__nps_reclaim_deleted_rows() %}
    select 1
{% endmacro %}


{% macro redshift__nps_reclaim_deleted_rows() %}
    {%- if is_incremental() and flags.FULL_REFRESH -%}
        vacuum delete only {{ this }} to 100 percent
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}


{#-
    After a rebuild (the first build or --full-refresh) the planner has no statistics for the
    millions of rows just written until autovacuum gets to them, and PostgreSQL then plans the
    next incremental runs as scans of the whole table (an ordinary day at 11M raw rows: 2.7 s
    for the daily counts instead of 0.2 s). This post-hook analyzes the table it rebuilt; an
    incremental run adds too few rows to need it. DuckDB keeps no such statistics; Redshift
    uses the postgres__ version (dbt-redshift dispatches to its parent adapter).
-#}

{% macro nps_refresh_statistics() %}
    {{ return(adapter.dispatch('nps_refresh_statistics')()) }}
{% endmacro %}


{% macro default__nps_refresh_statistics() %}
    select 1
{% endmacro %}


{% macro postgres__nps_refresh_statistics() %}
    {%- if nps_rebuilding() -%}
        analyze {{ this }}
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}


{% macro nps_rolling_plan() %}
    {#- nps_rolling_daily: the days the daily counts recounted since its last run, each the first
        of the 28 windows that contain it, and the last day it holds (the days after it enter
        as the last day with answers moves on, a quiet one included); looked up before its SQL
        is written. -#}
    {%- if nps_rebuilding() or not nps_can_look_up() -%}
        {{ return({'days': none, 'after': none}) }}
    {%- endif -%}
    {%- set since = nps_looked_up('select max(stored._counted_through) from ' ~ this ~ ' as stored') -%}
    {%- set days = run_query(
        'select response_date from ' ~ ref('int_nps_daily_counts') ~ ' where _batch_at > coalesce('
        ~ since ~ ', ' ~ nps_low_timestamp() ~ ')').columns[0].values() | map('string') | sort | list -%}
    {%- set after = run_query('select max(response_date) from ' ~ this).columns[0].values()[0] -%}
    {{ return({'days': days, 'after': none if after is none else after | string}) }}
{% endmacro %}


{% macro nps_rolling_windows_predicate(column, plan) -%}
    {#- `column` in a window a recounted day belongs to ([day, day + 27] for each, overlapping
        ones merged), or after the last day stored; in a dbt unit test (no lookups), the same
        from the days recounted after the stored _counted_through. -#}
    {%- if plan.days is none -%}
        {#- uncorrelated: Redshift cannot decorrelate a subquery under an OR -#}
        ({{ column }} in (
            select window_days.date_day
            from {{ ref('metricflow_time_spine') }} as window_days
            inner join {{ ref('int_nps_daily_counts') }} as recounted
                on
                    window_days.date_day >= recounted.response_date
                    and window_days.date_day <= {{ dbt.dateadd('day', 27, 'recounted.response_date') }}
            where recounted._batch_at > coalesce(
                (select max(stored._counted_through) from {{ this }} as stored), {{ nps_low_timestamp() }})
        )
        or {{ column }} > coalesce(
            (select max(stored.response_date) from {{ this }} as stored), cast('1900-01-01' as date)))
    {%- else -%}
        {%- set ranges = [] -%}
        {%- for day in plan.days -%}
            {%- set first = modules.datetime.date.fromisoformat(day) -%}
            {%- set last = first + modules.datetime.timedelta(days=27) -%}
            {%- if ranges and first <= ranges[-1][1] + modules.datetime.timedelta(days=1) -%}
                {%- do ranges.append((ranges.pop()[0], last)) -%}
            {%- else -%}
                {%- do ranges.append((first, last)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set parts = [] -%}
        {%- for first, last in ranges -%}
            {%- do parts.append(column ~ " between cast('" ~ first ~ "' as date) and cast('" ~ last ~ "' as date)") -%}
        {%- endfor -%}
        {%- do parts.append(column ~ " > cast('" ~ (plan.after or '1900-01-01') ~ "' as date)") -%}
        ({{ parts | join(' or ') }})
    {%- endif -%}
{%- endmacro %}


{% macro nps_forget_recomputed_windows() %}
    {#- nps_rolling_daily's pre-hook: the rows of the windows this run recomputes, and any after
        the last day with answers, go first; the run writes back those whose window still holds
        answers (delete+insert would only replace the rows it writes). -#}
    {%- if is_incremental() and not flags.FULL_REFRESH -%}
        {%- set plan = nps_rolling_plan() -%}
        delete from {{ this }}
        where {{ nps_rolling_windows_predicate('response_date', plan) }}
            or response_date > (
                select coalesce(max(answered.response_date), cast('1900-01-01' as date))
                from {{ ref('int_nps_daily_counts') }} as answered
                where answered.responses > 0
            )
    {%- else -%}
        select 1
    {%- endif -%}
{% endmacro %}


{#-
    The `indexes` model config is dbt-postgres's. dbt-redshift declares postgres as its parent
    adapter, so its materializations dispatch create_indexes to postgres__get_create_index_sql,
    which calls adapter.parse_index, which the Redshift adapter lacks: a first build or
    --full-refresh on Redshift would stop there (Redshift has sort keys, no indexes). The indexes
    reach PostgreSQL only.
-#}

{% macro nps_indexes(indexes) %}
    {{ return(indexes if target.type == 'postgres' else []) }}
{% endmacro %}

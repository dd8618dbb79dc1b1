{% macro nps_daily_counts_plan() %}
    {#-
        What an incremental run of int_nps_daily_counts must recount, decided before it runs so
        that the model filters on literals (index and zone-map friendly) instead of subqueries:

        - recount_all: every day, when the counts were never built, the current-state model was
          rebuilt since (every stored response is newer than the last count), or a response
          written since replaced a version that was not counted either (a run failed in between),
          so the day that earlier version came from is unknown;
        - otherwise dates: the days the responses written since the last count came from or
          went to, and counted_through: the newest current-state batch being counted.
    -#}
    {%- set plan = {'recount_all': true, 'dates': [], 'counted_through': none} -%}
    {%- if not execute or nps_rebuilding() -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set current = ref('int_nps_responses_current') -%}
    {%- set watermark = run_query('select max(_batch_at) from ' ~ this).columns[0].values()[0] -%}
    {%- if watermark is none -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set since = nps_timestamp_literal(watermark) -%}
    {#- each query bounds _batch_at by a literal (zone maps, indexes): never a whole-column
        min or max of the current state -#}
    {%- set older = run_query(
        'select 1 from ' ~ current ~ ' where _batch_at <= ' ~ since ~ ' limit 1').rows | length -%}
    {%- if older == 0 -%}
        {#- every stored response is newer than the last count: rebuilt since -#}
        {{ return(plan) }}
    {%- endif -%}
    {%- set check -%}
        select
            max(changed._batch_at) as counted_through,
            max(case when changed._previous_batch_at > {{ since }} then 1 else 0 end) as replaced_uncounted
        from {{ current }} as changed
        where changed._batch_at > {{ since }}
    {%- endset -%}
    {%- set row = run_query(check).rows[0] -%}
    {%- if row[1] is not none and row[1] | int == 1 -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- if row[0] is none -%}
        {#- nothing written since the last count -#}
        {{ return({'recount_all': false, 'dates': [], 'counted_through': watermark, 'since': watermark}) }}
    {%- endif -%}
    {%- set dates_sql -%}
        select response_date from {{ current }}
        where _batch_at > {{ since }} and response_date is not null
        union
        select previous_response_date from {{ current }}
        where _batch_at > {{ since }} and previous_response_date is not null
    {%- endset -%}
    {%- set dates = run_query(dates_sql).columns[0].values() | map('string') | list -%}
    {{ return({'recount_all': false, 'dates': dates | sort, 'counted_through': row[0], 'since': watermark}) }}
{% endmacro %}


{% macro nps_timestamp_literal(value) -%}
    cast('{{ value }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{% macro nps_date_list(dates) -%}
    {%- for d in dates %}cast('{{ d }}' as date){% if not loop.last %}, {% endif %}{% endfor -%}
{%- endmacro %}


{% macro nps_counted_through(plan) -%}
    {#- The newest current-state batch this run counts (stored as the next run's watermark). -#}
    {%- if plan.recount_all -%}
        (select max(all_responses._batch_at) from responses as all_responses)
    {%- else -%}
        {{ nps_timestamp_literal(plan.counted_through) }}
    {%- endif -%}
{%- endmacro %}


{#-
    Why a recount changed a day: the responses written since the last count, each classified by
    where it was counted before (previous_response_date, previous_category of the current
    state) and where it is counted now. Known only when the run recounts the days those
    responses touched; after a rebuild, or when a response changed twice between counts, the
    previous state is not known and the reasons are null.
-#}

{% macro nps_reasons() -%}
    {#- why a recount changed a day, one count each (see int_nps_daily_counts' columns) -#}
    {{ return(['responses_added', 'removed_by_delete', 'removed_by_reconcile', 'removed_as_invalid', 'moved_between_categories', 'moved_from_another_day', 'moved_to_another_day']) }}
{%- endmacro %}


{% macro nps_restatement_reasons(plan) -%}
changes as (

    select
        response_date,
        previous_response_date,
        category,
        previous_category,
        is_deleted,
        _correction,
        (not is_deleted and reject_reason is null) as is_counted,
        previous_category is not null as was_counted

    from {{ ref('int_nps_responses_current') }}
    where _batch_at > {{ nps_timestamp_literal(plan.since) }}

),

classified as (

    {#- one row per change and day it touches: (day, reason) -#}
    select response_date, 'responses_added' as reason from changes
    where is_counted and not was_counted
    union all
    select
        previous_response_date as response_date,
        case
            when is_deleted and _correction = 'deleted_from_source' then 'removed_by_reconcile'
            when is_deleted then 'removed_by_delete'
            else 'removed_as_invalid'
        end as reason
    from changes
    where was_counted and not is_counted
    union all
    select response_date, 'moved_between_categories' as reason from changes
    where is_counted and was_counted and previous_response_date = response_date and previous_category != category
    union all
    select response_date, 'moved_from_another_day' as reason from changes
    where is_counted and was_counted and previous_response_date != response_date
    union all
    select previous_response_date as response_date, 'moved_to_another_day' as reason from changes
    where is_counted and was_counted and previous_response_date != response_date

),

reasons as (

    select
        response_date,
        {%- for reason in nps_reasons() %}
        sum(case when reason = '{{ reason }}' then 1 else 0 end) as {{ reason }}{{ ',' if not loop.last }}
        {%- endfor %}

    from classified
    group by response_date

),
{%- endmacro %}


{% macro nps_unknown_reasons() -%}
reasons as (

    select
        cast(null as date) as response_date,
        {%- for reason in nps_reasons() %}
        cast(null as {{ dbt.type_bigint() }}) as {{ reason }}{{ ',' if not loop.last }}
        {%- endfor %}
    where 1 = 0

),
{%- endmacro %}


{% macro nps_reason_columns(relation, known) -%}
    {%- for reason in nps_reasons() -%}
        {%- if known -%}
            cast(coalesce({{ relation }}.{{ reason }}, 0) as {{ dbt.type_bigint() }}) as {{ reason }}
        {%- else -%}
            cast({{ relation }}.{{ reason }} as {{ dbt.type_bigint() }}) as {{ reason }}
        {%- endif -%}
        {{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}


{% macro nps_stored_counts() -%}
    {#- the stored rows a recount of every day compares with: none after a rebuild -#}
    {%- if not nps_rebuilding() -%}
        select * from {{ this }}
    {%- else -%}
    select
        cast(null as date) as response_date,
        cast(null as {{ dbt.type_bigint() }}) as responses,
        cast(null as {{ dbt.type_bigint() }}) as promoters,
        cast(null as {{ dbt.type_bigint() }}) as passives,
        cast(null as {{ dbt.type_bigint() }}) as detractors
    where 1 = 0
    {%- endif -%}
{%- endmacro %}

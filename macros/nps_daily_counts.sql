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


{% macro nps_recount_filter(plan) -%}
    {#- Which days this run recounts, as a filter on response_date: every day, the plan's days,
        or none. -#}
    {%- if plan.recount_all -%}
        1 = 1
    {%- elif plan.dates -%}
        response_date in ({{ nps_date_list(plan.dates) }})
    {%- else -%}
        1 = 0
    {%- endif -%}
{%- endmacro %}


{% macro nps_reasons_known(plan) -%}
    {#- The reasons are known when the run recounts the days the changes touched. -#}
    {{- return(not plan.recount_all and plan.dates | length > 0 and not nps_rebuilding()) -}}
{%- endmacro %}


{% macro nps_changes_filter(plan) -%}
    {#- The responses written since the last count, whose reasons this run records (none when
        the reasons are not known). -#}
    {%- if nps_reasons_known(plan) -%}
        _batch_at > {{ nps_timestamp_literal(plan.since) }}
    {%- else -%}
        1 = 0
    {%- endif -%}
{%- endmacro %}


{% macro nps_reason_sums(reason) -%}
    {#- One count per reason of a (response_date, reason) relation. -#}
    {%- for r in nps_reasons() %}
        sum(case when {{ reason }} = '{{ r }}' then 1 else 0 end) as {{ r }}{{ ',' if not loop.last }}
    {%- endfor %}
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


{% macro nps_category_counts(responses) -%}
    {#- responses, promoters, passives, detractors (nps_counts) of the joined ``responses``. -#}
    count({{ responses }}.id) as responses,
    {%- for category in ['promoter', 'passive', 'detractor'] %}
        coalesce(sum(case when {{ responses }}.category = '{{ category }}' then 1 else 0 end), 0) as {{ category }}s{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{% macro nps_no_counts() -%}
    {#- A day's counts, no row: what a rebuild compares with (int_nps_daily_counts' stored). -#}
    select
        cast(null as date) as response_date,
        {%- for m in nps_counts() %}
        cast(null as {{ dbt.type_bigint() }}) as {{ m }}{{ ',' if not loop.last }}
        {%- endfor %}
    where 1 = 0
{%- endmacro %}

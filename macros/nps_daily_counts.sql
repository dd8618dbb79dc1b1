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
    {%- set check -%}
        select
            case
                when (select min(_batch_at) from {{ current }}) > {{ since }} then 1
                when exists (
                    select 1 from {{ current }} as changed
                    where changed._batch_at > {{ since }}
                        and changed._previous_batch_at > {{ since }}
                ) then 1
                else 0
            end as recount_all,
            (select max(_batch_at) from {{ current }}) as counted_through
    {%- endset -%}
    {%- set row = run_query(check).rows[0] -%}
    {%- if row[0] | int == 1 -%}
        {{ return(plan) }}
    {%- endif -%}
    {%- set dates_sql -%}
        select response_date from {{ current }}
        where _batch_at > {{ since }} and response_date is not null
        union
        select previous_response_date from {{ current }}
        where _batch_at > {{ since }} and previous_response_date is not null
    {%- endset -%}
    {%- set dates = run_query(dates_sql).columns[0].values() | map('string') | list -%}
    {{ return({'recount_all': false, 'dates': dates | sort, 'counted_through': row[1]}) }}
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

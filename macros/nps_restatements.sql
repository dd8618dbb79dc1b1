{#-
    nps_restatements' plumbing: the columns of a restatement row, the test of whether a day's
    or a month's counts changed, and a month's counts before and after one batch. The reasons
    are int_nps_daily_counts' (macros/nps_daily_counts.sql: nps_reasons).
-#}

{#- nps_restatements: the columns of one restatement row, from a relation holding the counts
    after (responses, ...) and before (previous_responses, ...) and the reasons. -#}
{% macro nps_restatement_columns(grain, period, relation, batch='_batch_at') -%}
    {%- set measures = nps_counts() -%}
    select
        cast('{{ grain }}' as varchar(5)) as grain,
        {{ relation }}.{{ period }} as period,
        {{ relation }}.{{ batch }} as restated_at,
        {% for m in measures -%}
            cast({{ relation }}.previous_{{ m }} as {{ dbt.type_bigint() }}) as old_{{ m }},
        {% endfor -%}
        {{ nps_score(relation ~ '.previous_promoters', relation ~ '.previous_detractors', relation ~ '.previous_responses') }} as old_nps,
        {% for m in measures -%}
            cast({{ relation }}.{{ m }} as {{ dbt.type_bigint() }}) as new_{{ m }},
        {% endfor -%}
        {{ nps_score(relation ~ '.promoters', relation ~ '.detractors', relation ~ '.responses') }} as new_nps,
        {% for r in nps_reasons() -%}
            cast({{ relation }}.{{ r }} as {{ dbt.type_bigint() }}) as {{ r }}{{ ',' if not loop.last }}
        {% endfor %}
    from {{ relation }}
{%- endmacro %}


{% macro nps_counts_differ(before, after) -%}
    {%- for m in nps_counts() -%}
        {{ before }}{{ m }} != {{ after }}{{ m }}{{ ' or ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}


{% macro nps_counts_before_batch(days, batch_at) -%}
    {#- Summed over ``days``: previous_<count> as the days showed them before the batch (a day
        the batch recounted: as it was, a new one: nothing; the others: as they are), <count>
        as they show now, and the batch's reasons. -#}
    {%- set in_batch = days ~ '._batch_at = ' ~ batch_at -%}
    {%- for m in nps_counts() %}
        sum(case when {{ in_batch }} then coalesce({{ days }}.previous_{{ m }}, 0) else {{ days }}.{{ m }} end) as previous_{{ m }},
    {%- endfor %}
    {%- for m in nps_counts() %}
        sum({{ days }}.{{ m }}) as {{ m }},
    {%- endfor %}
    {%- for r in nps_reasons() %}
        sum(case when {{ in_batch }} then {{ days }}.{{ r }} end) as {{ r }}{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}

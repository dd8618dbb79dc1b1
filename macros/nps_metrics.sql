{#- The NPS definitions, in one place. -#}

{% macro nps_reject_reason(score, created_at) -%}
    case
        when {{ created_at }} is null then 'created_at is null'
        when {{ score }} is null then 'score is null'
        when {{ score }} < 0 or {{ score }} > 10 then 'score out of range'
    end
{%- endmacro %}


{% macro nps_category(score) -%}
    case
        when {{ score }} between 9 and 10 then 'promoter'
        when {{ score }} between 7 and 8 then 'passive'
        when {{ score }} between 0 and 6 then 'detractor'
    end
{%- endmacro %}


{% macro nps_score(promoters, detractors, responses) -%}
    {#- 100.0 first: integer division would turn every NPS between -100 and 100 into 0. -#}
    cast(
        round(100.0 * ({{ promoters }} - {{ detractors }}) / nullif({{ responses }}, 0), 2)
        as numeric(6, 2)
    )
{%- endmacro %}

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


{% macro nps_counts() -%}
    {#- the four counts every summary row carries -#}
    {{ return(['responses', 'promoters', 'passives', 'detractors']) }}
{%- endmacro %}


{% macro nps_score(promoters, detractors, responses) -%}
    {#- 100.0 first: integer division would turn every NPS between -100 and 100 into 0. -#}
    cast(
        round(100.0 * ({{ promoters }} - {{ detractors }}) / nullif({{ responses }}, 0), 2)
        as numeric(6, 2)
    )
{%- endmacro %}


{#-
    The 95% interval of an NPS by the adjusted-Wald method (Rocks 2016, "Interval estimation
    for the Net Promoter Score", The American Statistician 70(4)): add 3 answers, 3/4 of them
    promoters and 3/4 detractors,
        n' = n + 3,  p' = (promoters + 3/4) / n',  d' = (detractors + 3/4) / n',
        var = p' + d' - (p' - d')^2,
        interval = 100 * ((p' - d') -/+ 1.96 * sqrt(var / n')),
    clamped to [-100, 100] and rounded to 2 places. Written as exact ratios of the counts,
        p' - d' = (promoters - detractors) / n',
        var / n' = ((promoters + detractors + 3/2) * n' - (promoters - detractors)^2) / n'^3,
    computed in nps_number's type (the one inexact step on PostgreSQL is the square root).
-#}

{% macro nps_adjusted_difference(promoters, detractors, responses) -%}
    ({{ nps_number(promoters) }} - {{ nps_number(detractors) }}) / ({{ nps_number(responses) }} + 3)
{%- endmacro %}


{% macro nps_adjusted_variance_over_n(promoters, detractors, responses) -%}
    {%- set n_adj = '(' ~ nps_number(responses) ~ ' + 3)' -%}
    {%- set diff = '(' ~ nps_number(promoters) ~ ' - ' ~ nps_number(detractors) ~ ')' -%}
    (({{ nps_number(promoters) }} + {{ nps_number(detractors) }} + 1.5) * {{ n_adj }} - {{ diff }} * {{ diff }})
    / ({{ n_adj }} * {{ n_adj }} * {{ n_adj }})
{%- endmacro %}


{% macro nps_interval_bound(promoters, detractors, responses, side) -%}
    {#- null without responses, like nps -#}
    {%- set sign = {'low': '-', 'high': '+'}[side] -%}
    cast(
        case when {{ responses }} > 0 then greatest(-100, least(100, round(
            100 * (
                {{ nps_adjusted_difference(promoters, detractors, responses) }}
                {{ sign }} 1.96 * sqrt({{ nps_adjusted_variance_over_n(promoters, detractors, responses) }})
            ), 2))) end
        as numeric(6, 2)
    )
{%- endmacro %}


{% macro nps_is_small_sample(responses) -%}
    ({{ responses }} < {{ nps_min_responses() }})
{%- endmacro %}


{#-
    The number type the interval is computed in, per target. PostgreSQL: numeric, exact for
    every + - * / of the counts, square root included. DuckDB returns a DOUBLE for any quotient
    and Redshift's SQRT takes only DOUBLE PRECISION (and its numeric products of n'^3 would
    overflow 38 digits): there the ratios and the root are doubles, 15-16 significant digits,
    which changes a bound rounded to 2 places only if the exact bound lies within about 1e-12
    of a rounding boundary.
-#}

{% macro nps_number(value) -%}
    {{ return(adapter.dispatch('nps_number')(value)) }}
{%- endmacro %}

{% macro default__nps_number(value) -%}
    cast({{ value }} as numeric)
{%- endmacro %}

{% macro duckdb__nps_number(value) -%}
    cast({{ value }} as double)
{%- endmacro %}

{% macro redshift__nps_number(value) -%}
    cast({{ value }} as double precision)
{%- endmacro %}


{% macro nps_columns(promoters='promoters', detractors='detractors', responses='responses', suffix='') -%}
    {#- The NPS of a row's counts with its interval and small-sample flag: the columns every
        summary mart carries (``suffix`` names a window's columns, e.g. nps_7d). -#}
    {{ nps_score(promoters, detractors, responses) }} as nps{{ suffix }},
    {{ nps_interval_bound(promoters, detractors, responses, 'low') }} as nps{{ suffix }}_ci_low,
    {{ nps_interval_bound(promoters, detractors, responses, 'high') }} as nps{{ suffix }}_ci_high,
    {{ nps_is_small_sample(responses) }} as is_small_sample{{ suffix }}
{%- endmacro %}


{% macro nps_change_is_significant(counts, previous) -%}
    {#- Two-sided test at 95% of the difference of two adjusted-Wald NPS (counts and previous are
        (promoters, detractors, responses) column triples): |z| > 1.96 with
        z = (c1 - c2) / sqrt(var1/n1' + var2/n2'), compared squared so no root is needed. -#}
    {%- set c1 = nps_adjusted_difference(*counts) -%}
    {%- set c2 = nps_adjusted_difference(*previous) -%}
    (({{ c1 }}) - ({{ c2 }})) * (({{ c1 }}) - ({{ c2 }}))
        > 3.8416 * (({{ nps_adjusted_variance_over_n(*counts) }}) + ({{ nps_adjusted_variance_over_n(*previous) }}))
{%- endmacro %}


{% macro nps_window_counts(counts, window_end, days) -%}
    {#- The counts of the ``days`` days ending on ``window_end``, from the joined daily ``counts``
        rows (responses_7d, promoters_7d, ... for days = 7). -#}
    {%- set in_window = counts ~ '.response_date > ' ~ dbt.dateadd('day', -days, window_end) -%}
    {%- for measure in nps_counts() -%}
        cast(coalesce(sum(case when {{ in_window }} then {{ counts }}.{{ measure }} end), 0) as {{ dbt.type_bigint() }})
            as {{ measure }}_{{ days }}d{{ ',\n        ' if not loop.last }}
    {%- endfor -%}
{%- endmacro %}

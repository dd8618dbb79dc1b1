{#-
    Which version of a response is the latest. One definition, used by the in-batch dedupe
    (row_number) and by the version guard against the stored state, so the two can never disagree,
    and written out once more for nps-loader reconcile (loader/relations.py, checked by a test):
        the version: modified, or for a reconcile correction the version it takes the place of
            (_supersedes), desc;
        then corrections before the rows of days' loads, the newest correction first;
        then created_at desc (a null created_at sorts lowest), _loaded_at desc, _extract_id desc.
    For the rows of days' loads this is modified, created_at, _loaded_at, _extract_id.
-#}

{% macro nps_low_timestamp() -%}
    cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{% macro nps_version_keys(alias='') -%}
    {#- The sort keys, most significant first, each sorted descending. -#}
    {%- set a = alias ~ '.' if alias else '' -%}
    {%- set low = nps_low_timestamp() -%}
    {{ return([
        'coalesce(' ~ a ~ '_supersedes, ' ~ a ~ 'modified)',
        'coalesce(case when ' ~ a ~ '_correction is not null then ' ~ a ~ '_loaded_at end, ' ~ low ~ ')',
        'coalesce(' ~ a ~ 'created_at, ' ~ low ~ ')',
        a ~ '_loaded_at',
        a ~ '_extract_id',
    ]) }}
{%- endmacro %}


{% macro nps_version_order() -%}
    {%- for key in nps_version_keys() %}
    {{ key }} desc{{ ',' if not loop.last }}
    {%- endfor %}
{%- endmacro %}


{% macro nps_is_newer(new, old) -%}
    {#- True when the version aliased `new` sorts strictly after the version aliased `old`. -#}
    {%- set n = nps_version_keys(new) -%}
    {%- set o = nps_version_keys(old) -%}
    (
    {%- for i in range(n | length) %}
        {{ 'or ' if not loop.first }}(
            {%- for j in range(i) %}{{ n[j] }} = {{ o[j] }} and {% endfor -%}
            {{ n[i] }} > {{ o[i] }})
    {%- endfor %}
    )
{%- endmacro %}

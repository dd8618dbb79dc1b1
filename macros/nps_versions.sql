{#-
    Which version of a response is the latest. One definition, used by the in-batch dedupe
    (row_number) and by the version guard against the stored state, so the two can never disagree:
        modified desc, then created_at desc (a null created_at sorts lowest),
        then _loaded_at desc, then _extract_id desc.
-#}

{% macro nps_low_timestamp() -%}
    cast('1900-01-01 00:00:00' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{% macro nps_version_order() -%}
    modified desc,
    coalesce(created_at, {{ nps_low_timestamp() }}) desc,
    _loaded_at desc,
    _extract_id desc
{%- endmacro %}


{% macro nps_is_newer(new, old) -%}
    {#- True when the version aliased `new` sorts strictly after the version aliased `old`. -#}
    {%- set low = nps_low_timestamp() -%}
    (
        {{ new }}.modified > {{ old }}.modified
        or ({{ new }}.modified = {{ old }}.modified
            and coalesce({{ new }}.created_at, {{ low }}) > coalesce({{ old }}.created_at, {{ low }}))
        or ({{ new }}.modified = {{ old }}.modified
            and coalesce({{ new }}.created_at, {{ low }}) = coalesce({{ old }}.created_at, {{ low }})
            and {{ new }}._loaded_at > {{ old }}._loaded_at)
        or ({{ new }}.modified = {{ old }}.modified
            and coalesce({{ new }}.created_at, {{ low }}) = coalesce({{ old }}.created_at, {{ low }})
            and {{ new }}._loaded_at = {{ old }}._loaded_at
            and {{ new }}._extract_id > {{ old }}._extract_id)
    )
{%- endmacro %}

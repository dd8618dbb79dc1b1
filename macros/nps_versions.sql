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


{% macro nps_batch_predicate() -%}
    {#- The raw rows an incremental run of the current-state model reads (see dbt_project.yml vars). -#}
    {%- set batch = nps_batch_vars() -%}
    {%- if batch.mode == 'since_last_run' -%}
        _loaded_at > (
            select
                {{ dbt.dateadd('minute', -1 * var('loaded_at_lookback_minutes'),
                    'coalesce(max(_seen_through), ' ~ nps_low_timestamp() ~ ')') }}
            from {{ this }}
        )
    {%- else -%}
        _run_date between cast('{{ batch.start }}' as date) and cast('{{ batch.end }}' as date)
    {%- endif -%}
{%- endmacro %}


{% macro nps_run_timestamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}

{#-
    Local calendar days of the reporting zone (var reporting_timezone, default UTC).
    Timestamps in the warehouse are naive UTC; a response counts on the date its created_at
    has on the reporting zone's wall clock, DST included. One cross-database macro:
    PostgreSQL and DuckDB use the SQL standard `at time zone` twice (naive UTC -> instant ->
    local wall clock), Redshift its convert_timezone.
-#}

{% macro nps_local_timestamp(column) -%}
    {{ return(adapter.dispatch('nps_local_timestamp')(column, nps_reporting_timezone())) }}
{%- endmacro %}


{% macro default__nps_local_timestamp(column, zone) -%}
    {%- if zone == 'UTC' -%}
        {{ column }}
    {%- else -%}
        cast(({{ column }} at time zone 'UTC') at time zone '{{ zone }}' as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}


{% macro redshift__nps_local_timestamp(column, zone) -%}
    {%- if zone == 'UTC' -%}
        {{ column }}
    {%- else -%}
        convert_timezone('UTC', '{{ zone }}', {{ column }})
    {%- endif -%}
{%- endmacro %}


{% macro nps_local_date(column) -%}
    cast({{ nps_local_timestamp(column) }} as date)
{%- endmacro %}


{% macro nps_local_month(column) -%}
    cast({{ dbt.date_trunc('month', nps_local_timestamp(column)) }} as date)
{%- endmacro %}


{% macro nps_reporting_timezone() %}
    {#- The IANA zone whose calendar days response_date / response_month follow. -#}
    {%- set zone = var('reporting_timezone') | string | trim -%}
    {%- if zone | upper in ('UTC', 'ETC/UTC', 'Z', '') -%}
        {{ return('UTC') }}
    {%- endif -%}
    {%- if zone not in modules.pytz.all_timezones -%}
        {{ exceptions.raise_compiler_error("var reporting_timezone must be an IANA time zone such as UTC, Asia/Seoul or America/New_York, got '" ~ zone ~ "'") }}
    {%- endif -%}
    {{ return(zone) }}
{% endmacro %}

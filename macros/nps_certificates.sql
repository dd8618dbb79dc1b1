{% macro nps_latest_certificates() -%}
    {#- The newest certificate of each day of the reporting zone (raw.nps_certifications,
        written by nps-loader verify). A day's certificate holds while the day has not been
        recounted since: certified_at >= the day's _batch_at in int_nps_daily_counts. A raw
        schema the loader has not opened since it added the table has no certificates. -#}
    {%- set certifications = source('nps_raw', 'nps_certifications') -%}
    {#- (in a unit test, source() is the fixture's name: it exists) -#}
    {%- set exists = not execute or certifications is string or certifications.schema is none or adapter.get_relation(
        database=certifications.database,
        schema=certifications.schema,
        identifier=certifications.identifier,
    ) is not none -%}
    {%- if exists -%}
    select
        response_date,
        max(certified_at) as certified_at
    from {{ certifications }}
    where reporting_timezone = '{{ nps_reporting_timezone() }}'
    group by response_date
    {%- else -%}
    select
        cast(null as date) as response_date,
        cast(null as {{ dbt.type_timestamp() }}) as certified_at
    where 1 = 0
    {%- endif -%}
{%- endmacro %}

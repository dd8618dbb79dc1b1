{#- Redshift keys, for a billion rows (docs/performance.md, "Redshift at a billion rows"):
    distributed on id, the key of the version lookup and of delete+insert, so both are joins
    within a slice; sorted on response_date, the day every recount, verify and reconcile read
    and the delete names. _batch_at and id, which the daily run also filters on, grow in write
    order and with created_at: zone maps prune on them too. -#}
{{
    config(
        unique_key='id',
        indexes=nps_indexes([
            {'columns': ['id'], 'unique': true},
            {'columns': ['_batch_at']},
            {'columns': ['response_date']},
        ]),
        dist='id',
        sort=['response_date'],
    )
}}

{#-
    The latest version of every response ever loaded, tombstones (deleted) and invalid ones
    included. An incremental run reads only the raw rows of its batch (see nps_batch_predicate),
    keeps the latest version per id within the batch, and writes it only if it is newer than the
    stored one: re-running or backfilling an old day can never replace a newer version.
-#}

{%- set batch = nps_batch_vars() %}
{%- set rebuilding = nps_rebuilding() %}
{%- set batch_filter = none if rebuilding else nps_batch_predicate() %}

with

versions as (

    select * from {{ ref('stg_nps__responses') }}
    {% if not rebuilding -%}
    where {{ batch_filter }}
    {%- endif %}

),

ranked as (

    select
        versions.*,
        row_number() over (
            partition by versions.id
            order by {{ nps_version_order() }}
        ) as version_rank,
        max(versions._loaded_at) over () as batch_seen_through

    from versions

),

latest_in_batch as (

    select * from ranked
    where version_rank = 1

),

{% if not rebuilding %}

newer_than_stored as (

    select
        latest_in_batch.*,
        stored_version.response_date as previous_response_date,
        -- the category the stored version was counted in (null: it was not counted)
        case
            when not stored_version.is_deleted and stored_version.reject_reason is null
                then stored_version.category
        end as previous_category,
        stored_version._batch_at as previous_batch_at

    from latest_in_batch
    left join {{ this }} as stored_version
        on
            latest_in_batch.id = stored_version.id
            and {{ nps_id_ranges(
                'select id from ' ~ ref('stg_nps__responses') ~ ' where ' ~ batch_filter,
                'stored_version.id') }}

    where
        stored_version.id is null
        or {{ nps_is_newer('latest_in_batch', 'stored_version') }}

),

{% else %}

newer_than_stored as (

    select
        latest_in_batch.*,
        cast(null as date) as previous_response_date,
        cast(null as {{ dbt.type_string() }}) as previous_category,
        cast(null as {{ dbt.type_timestamp() }}) as previous_batch_at

    from latest_in_batch

),

{% endif %}

final as (

    select
        id,
        created_at,
        modified,
        score,
        is_deleted,
        {{ nps_reject_reason('score', 'created_at') }} as reject_reason,
        {{ nps_category('score') }} as category,
        {{ nps_local_date('created_at') }} as response_date,
        {{ nps_local_month('created_at') }} as response_month,
        previous_response_date,
        previous_category,
        _run_date,
        _extract_id,
        _loaded_at,
        _supersedes,
        _correction,
        {{ nps_run_timestamp() }} as _batch_at,
        previous_batch_at as _previous_batch_at,
        {% if batch.mode == 'since_last_run' or rebuilding -%}
        batch_seen_through
        {%- else -%}
        cast(null as {{ dbt.type_timestamp() }})
        {%- endif %} as _seen_through,
        cast('{{ nps_reporting_timezone() }}' as {{ dbt.type_string() }}) as _reporting_timezone

    from newer_than_stored

)

select * from final

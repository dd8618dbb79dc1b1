with

source as (

    select * from {{ source('nps_raw', 'nps') }}

),

renamed as (

    select
        cast(id as {{ dbt.type_bigint() }}) as id,
        cast(created_at as {{ dbt.type_timestamp() }}) as created_at,
        cast(modified as {{ dbt.type_timestamp() }}) as modified,
        coalesce(deleted, false) as is_deleted,
        cast(score as integer) as score,
        _run_date,
        _extract_id,
        _loaded_at,
        cast(_supersedes as {{ dbt.type_timestamp() }}) as _supersedes,
        _correction

    from source

)

select * from renamed

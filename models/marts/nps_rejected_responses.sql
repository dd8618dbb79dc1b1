with

responses as (

    select * from {{ ref('int_nps_responses_current') }}

),

final as (

    select
        id,
        created_at,
        modified,
        score,
        reject_reason

    from responses
    where
        not is_deleted
        and reject_reason is not null

)

select * from final

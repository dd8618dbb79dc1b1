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
        category,
        response_date,
        response_month

    from responses
    where
        not is_deleted
        and reject_reason is null

)

select * from final

with

daily_counts as (

    select * from {{ ref('int_nps_daily_counts') }}

),

certificates as (

    {{ nps_latest_certificates() }}

),

final as (

    select
        daily_counts.response_date,
        daily_counts.responses,
        daily_counts.promoters,
        daily_counts.passives,
        daily_counts.detractors,
        {{ nps_columns() }},
        -- proven equal to the source after the day was last recounted; else not (yet)
        case
            when certificates.certified_at >= daily_counts._batch_at
                then certificates.certified_at
        end as certified_at

    from daily_counts
    left join certificates on daily_counts.response_date = certificates.response_date
    where daily_counts.responses > 0

)

select * from final

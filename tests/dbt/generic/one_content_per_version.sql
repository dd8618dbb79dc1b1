{#-
    Two versions of one id with the same cursor value must be the same row. If they differ,
    the source updated a row without bumping its cursor column (or has no primary key): which
    content wins would then depend on load order ("last load wins"), so it is flagged here.
    Fix the source, then re-run the days listed (nps-loader run --date D) so raw holds one
    content per version.
-#}
{% test one_content_per_version(model) %}

with

distinct_versions as (

    select distinct
        id,
        modified,
        created_at,
        deleted,
        score
    from {{ model }}

)

select
    id,
    modified,
    count(*) as contents
from distinct_versions
group by id, modified
having count(*) > 1

{% endtest %}

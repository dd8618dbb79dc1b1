{#-
    Two versions of one id with the same cursor value must be the same row. If they differ,
    the source updated a row without bumping its cursor column (or has no primary key): which
    content wins would then depend on load order ("last load wins"), so it is flagged here.
    Fix the source, then re-run the days listed (nps-loader run --date D) so raw holds one
    content per version.

    Only the rows of days' loads are compared. A reconcile correction (`_correction` set) of an
    update that did not bump the cursor holds the source's content under the same cursor as the
    stale version it replaces; it is ordered ahead of it (see nps_versions.sql), so it is no
    ambiguity. Two days' loads that disagree are: the source broke the rule while being read.
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
    where _correction is null

)

select
    id,
    modified,
    count(*) as contents
from distinct_versions
group by id, modified
having count(*) > 1

{% endtest %}

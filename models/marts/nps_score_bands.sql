{#-
    The NPS bands as a reference table, written out score by score so that the singular test
    assert_categories_match_score_bands checks the category macro against an independent
    statement. A model (not a seed): `dbt run` builds it, so `dbt test` needs no `dbt seed`.
-#}

with

bands as (

    {% for score in range(0, 11) -%}
        select
            cast({{ score }} as integer) as score,
            cast(
                '{{ "detractor" if score <= 6 else "passive" if score <= 8 else "promoter" }}'
                as {{ dbt.type_string() }}
            ) as category
        {% if not loop.last %}union all{% endif %}
    {% endfor %}

)

select * from bands

{#- responses = promoters + passives + detractors on every row. -#}
{% test counts_add_up(model) %}

select *
from {{ model }}
where responses <> promoters + passives + detractors

{% endtest %}

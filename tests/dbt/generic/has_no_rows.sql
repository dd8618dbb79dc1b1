{#- The model is empty. Used with severity warn on the quarantine: rejected rows deserve a look. -#}
{% test has_no_rows(model) %}

select * from {{ model }}

{% endtest %}

{#-
    The vars that choose which raw rows an incremental run processes (run_date, start_date and
    end_date), validated before any model runs.
    An unquoted YAML date (run_date: 2021-09-16) arrives as a date object, a quoted one as a
    string: both are accepted; anything else fails at once with a message naming the var.
-#}

{% macro nps_date_var(name) %}
    {%- set value = var(name, none) -%}
    {%- if value is none or value == '' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set text = value | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', text) -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a date like 2021-09-16, got '" ~ text ~ "'") }}
    {%- endif -%}
    {%- set year, month, day = text[0:4] | int, text[5:7] | int, text[8:10] | int -%}
    {%- if month < 1 or month > 12 or day < 1 -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " is not a real date: '" ~ text ~ "'") }}
    {%- endif -%}
    {%- set first_of_next = modules.datetime.date(year + (month // 12), month % 12 + 1, 1) -%}
    {%- set days_in_month = (first_of_next - modules.datetime.timedelta(days=1)).day -%}
    {%- if day > days_in_month -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " is not a real date: '" ~ text ~ "'") }}
    {%- endif -%}
    {{ return(text) }}
{% endmacro %}


{% macro nps_batch_vars() %}
    {#- Returns {'mode': 'run_date' | 'range' | 'since_last_run', 'start': ..., 'end': ...}. -#}
    {%- set run_date = nps_date_var('run_date') -%}
    {%- set start_date = nps_date_var('start_date') -%}
    {%- set end_date = nps_date_var('end_date') -%}
    {%- if run_date and (start_date or end_date) -%}
        {{ exceptions.raise_compiler_error("var run_date cannot be combined with start_date/end_date") }}
    {%- endif -%}
    {%- if (start_date and not end_date) or (end_date and not start_date) -%}
        {{ exceptions.raise_compiler_error("vars start_date and end_date go together: give both") }}
    {%- endif -%}
    {%- if start_date and end_date < start_date -%}
        {{ exceptions.raise_compiler_error("var end_date (" ~ end_date ~ ") is before start_date (" ~ start_date ~ ")") }}
    {%- endif -%}
    {%- if run_date -%}
        {{ return({'mode': 'run_date', 'start': run_date, 'end': run_date}) }}
    {%- elif start_date -%}
        {{ return({'mode': 'range', 'start': start_date, 'end': end_date}) }}
    {%- endif -%}
    {{ return({'mode': 'since_last_run', 'start': none, 'end': none}) }}
{% endmacro %}


{% macro nps_min_responses() %}
    {#- var nps_min_responses: below this many responses a row is flagged is_small_sample. -#}
    {%- set value = var('nps_min_responses') | string | trim -%}
    {%- if not modules.re.match('^[0-9]+$', value) or value | int < 1 -%}
        {{ exceptions.raise_compiler_error("var nps_min_responses must be a whole number of responses, 1 or more, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{% endmacro %}


{#- The day monitors' thresholds (nps_day_monitors), validated like nps_min_responses. -#}

{% macro nps_monitor_weeks() %}
    {%- set value = var('nps_monitor_weeks') | string | trim -%}
    {%- if not modules.re.match('^[0-9]+$', value) or value | int < 1 -%}
        {{ exceptions.raise_compiler_error("var nps_monitor_weeks must be a whole number of weeks, 1 or more, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | int) }}
{% endmacro %}


{% macro nps_positive_number_var(name) %}
    {%- set value = var(name) | string | trim -%}
    {%- if not modules.re.match('^[0-9]+(\\.[0-9]+)?$', value) or value | float <= 0 -%}
        {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a positive number, got '" ~ value ~ "'") }}
    {%- endif -%}
    {{ return(value | float) }}
{% endmacro %}


{% macro nps_low_volume_ratio() %}
    {{ return(nps_positive_number_var('nps_low_volume_ratio')) }}
{% endmacro %}


{% macro nps_unusual_z() %}
    {{ return(nps_positive_number_var('nps_unusual_z')) }}
{% endmacro %}

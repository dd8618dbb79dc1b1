-- Redshift's functions and the system objects dbt-redshift and the loader read, created in the
-- emulated database (public schema) with Redshift's results. Idempotent: run on every start.

-- GETDATE(): the statement's start in UTC, whole seconds (SYSDATE keeps microseconds)
create or replace function public.getdate() returns timestamp language sql stable as $$
    select date_trunc('second', statement_timestamp() at time zone 'UTC')
$$;

create or replace function public.redshift_datepart(part text) returns text language sql immutable as $$
    select case lower(part)
        when 'y' then 'year' when 'yr' then 'year' when 'yrs' then 'year' when 'years' then 'year'
        when 'mon' then 'month' when 'mons' then 'month' when 'months' then 'month'
        when 'w' then 'week' when 'weeks' then 'week'
        when 'd' then 'day' when 'days' then 'day'
        when 'h' then 'hour' when 'hr' then 'hour' when 'hrs' then 'hour' when 'hours' then 'hour'
        when 'm' then 'minute' when 'min' then 'minute' when 'mins' then 'minute' when 'minutes' then 'minute'
        when 's' then 'second' when 'sec' then 'second' when 'secs' then 'second' when 'seconds' then 'second'
        else lower(part)
    end
$$;

-- DATEADD(datepart, interval, timestamp) returns a timestamp
create or replace function public.dateadd(part text, n bigint, ts timestamp) returns timestamp
language sql immutable as $$
    select ts + (n || ' ' || public.redshift_datepart(part))::interval
$$;

-- DATEDIFF counts the date-part boundaries crossed between the two values
create or replace function public.datediff(part text, a timestamp, b timestamp) returns bigint
language sql immutable as $$
    select case public.redshift_datepart(part)
        when 'year' then extract(year from b)::bigint - extract(year from a)::bigint
        when 'month' then (extract(year from b)::bigint - extract(year from a)::bigint) * 12
            + extract(month from b)::bigint - extract(month from a)::bigint
        when 'week' then ((date_trunc('week', b)::date - date_trunc('week', a)::date) / 7)::bigint
        when 'day' then (b::date - a::date)::bigint
        when 'hour' then (extract(epoch from date_trunc('hour', b) - date_trunc('hour', a)) / 3600)::bigint
        when 'minute' then (extract(epoch from date_trunc('minute', b) - date_trunc('minute', a)) / 60)::bigint
        when 'second' then extract(epoch from date_trunc('second', b) - date_trunc('second', a))::bigint
    end
$$;

-- CONVERT_TIMEZONE(source, target, timestamp) and (target, timestamp), source UTC; IANA names
create or replace function public.convert_timezone(source text, target text, ts timestamp)
returns timestamp language sql immutable as $$
    select (ts at time zone source) at time zone target
$$;
create or replace function public.convert_timezone(target text, ts timestamp)
returns timestamp language sql immutable as $$
    select (ts at time zone 'UTC') at time zone target
$$;

create or replace function public.nvl(a anycompatible, b anycompatible) returns anycompatible
language sql immutable as $$ select coalesce(a, b) $$;

create or replace function public.listagg_step(acc text, value text, delimiter text) returns text
language sql immutable as $$
    select case when value is null then acc when acc is null then value else acc || delimiter || value end
$$;
do $$ begin
    if not exists (select 1 from pg_proc where proname = 'listagg') then
        create aggregate public.listagg(text, text) (sfunc = public.listagg_step, stype = text);
    end if;
end $$;

-- PG_LAST_COPY_COUNT(): rows the session's last COPY loaded (the emulator's COPY sets it)
create or replace function public.pg_last_copy_count() returns bigint language sql stable as $$
    select coalesce(nullif(current_setting('redshift_emulator.last_copy_count', true), ''), '0')::bigint
$$;

-- Late-binding views' columns: PostgreSQL binds every view, so there are none
create or replace function public.pg_get_late_binding_view_cols() returns setof record
language sql stable as $$
    select null::name, null::name, null::name, null::varchar, null::int where false
$$;

create or replace view public.svv_external_columns as
    select null::varchar as redshift_database_name, null::varchar as schemaname,
        null::varchar as tablename, null::varchar as columnname, null::varchar as external_type,
        null::int as columnnum, null::int as part_key, null::varchar as is_nullable
    where false;

create or replace view public.svv_redshift_columns as
    select current_database()::varchar as database_name, table_schema::varchar as schema_name,
        table_name::varchar as table_name, column_name::varchar as column_name,
        ordinal_position::int as ordinal_position, data_type::varchar as data_type,
        column_default::varchar as column_default, is_nullable::varchar as is_nullable,
        'none'::varchar as encoding, false as distkey, 0 as sortkey,
        'local'::varchar as column_type, null::varchar as remarks
    from information_schema.columns;

create or replace view public.svv_table_info as
    select current_database()::varchar as database, n.nspname::varchar as schema,
        c.oid::int as table_id, c.relname::varchar as "table", 'N'::varchar as encoded,
        'AUTO(EVEN)'::varchar as diststyle, null::varchar as sortkey1, 0 as max_varchar,
        null::varchar as sortkey1_enc, 0 as sortkey_num,
        (pg_total_relation_size(c.oid) / 1048576)::bigint as size, 0::numeric as pct_used,
        0::numeric as empty, 0::numeric as unsorted, 0::numeric as stats_off,
        greatest(c.reltuples, 0)::numeric as tbl_rows, null::numeric as skew_sortkey1,
        null::numeric as skew_rows, greatest(c.reltuples, 0)::numeric as estimated_visible_rows,
        null::varchar as risk_event, null::numeric as vacuum_sort_benefit,
        null::timestamp as create_time
    from pg_class as c join pg_namespace as n on n.oid = c.relnamespace
    where c.relkind = 'r' and n.nspname not in ('pg_catalog', 'information_schema');

-- STL_LOAD_ERRORS: one row per COPY that failed (the emulator writes it outside the COPY's
-- transaction, as Redshift does)
create table if not exists public.stl_load_errors (
    userid int, slice int, tbl int, starttime timestamp, session int, query int,
    filename char(256), line_number bigint, colname char(127), type char(10), col_length char(10),
    position int, raw_line char(1024), raw_field_value char(1024), err_code int,
    err_reason char(100), is_partial int, start_offset bigint
);

-- ROUND(float8, integer) returns float8 (AWS, ROUND: the input may be DECIMAL or FLOAT8, the
-- result has the input's type); PostgreSQL rounds only numeric to a number of places
create or replace function public.round(value double precision, places integer)
returns double precision language sql immutable as $$
    select pg_catalog.round(value::numeric, places)::double precision
$$;

-- STRTOL(string, base): the number a string of digits in that base stands for (base 16 here)
create or replace function public.strtol(value text, base integer) returns bigint
language plpgsql immutable as $$
begin
    if base <> 16 then
        raise exception 'the emulator''s STRTOL reads base 16 only, got %', base;
    end if;
    return ('x' || lpad(value, 16, '0'))::bit(64)::bigint;
end
$$;

package io.warden.postgres;

import java.util.List;

/**
 * How admin manages roles from psql without CREATEROLE (which, before postgres 16, would let it grant itself any
 * non-superuser role): Warden-owned {@code SECURITY DEFINER} functions in the schema {@code warden} of the cluster's
 * database, each with its search_path pinned, each refusing Warden's roles, the predefined {@code pg_*} ones and any
 * attribute beyond LOGIN. Admin gets the ADMIN OPTION on each role it creates, so it grants them to other roles and
 * grants them privileges with plain SQL; it changes and drops only roles made here.
 *
 * <pre>
 * select warden.create_role('app', 'SCRAM-SHA-256$4096:...');   -- a verifier, or a password (then it is in the SQL)
 * select warden.set_password('app', '...');
 * select warden.drop_role('app');
 * select warden.cancel_backend(pid), warden.terminate_backend(pid);  -- another role's client session
 * </pre>
 *
 * <p>The last two stand in for pg_signal_backend, which on postgres 15 also reaches processes without a role (a
 * replica's WAL receiver, the launchers): they end only client sessions, and none of a superuser's or Warden's.
 */
final class RoleFunctions {
    private RoleFunctions() {}

    static final List<String> STATEMENTS = List.of(
            "CREATE SCHEMA warden",
            "REVOKE ALL ON SCHEMA warden FROM PUBLIC",
            "GRANT USAGE ON SCHEMA warden TO admin",
            "CREATE TABLE warden.managed_roles (name name PRIMARY KEY, created_at timestamptz NOT NULL DEFAULT now())",
            "REVOKE ALL ON warden.managed_roles FROM PUBLIC",
            "GRANT SELECT ON warden.managed_roles TO admin",
            """
            CREATE FUNCTION warden.check_name(role_name text) RETURNS void
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                IF role_name IS NULL OR role_name !~ '^[a-z_][a-z0-9_]{0,62}$' THEN
                    RAISE EXCEPTION 'role name % is not allowed', quote_nullable(role_name)
                        USING ERRCODE = '42501',
                              HINT = 'use lower-case letters, digits and _, starting with a letter or _';
                END IF;
                IF role_name IN ('postgres', 'replicator', 'admin') OR role_name LIKE 'pg\\_%' THEN
                    RAISE EXCEPTION 'role % is reserved', role_name
                        USING ERRCODE = '42501', HINT = 'Warden''s own roles and postgres''s pg_* roles are not yours';
                END IF;
            END $$
            """,
            "REVOKE ALL ON FUNCTION warden.check_name(text) FROM PUBLIC",
            """
            CREATE FUNCTION warden.create_role(role_name text, password text DEFAULT NULL, login boolean DEFAULT true)
            RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                PERFORM warden.check_name(role_name);
                EXECUTE format('CREATE ROLE %I WITH %s NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS',
                               role_name, CASE WHEN login THEN 'LOGIN' ELSE 'NOLOGIN' END)
                        || CASE WHEN password IS NULL THEN '' ELSE format(' PASSWORD %L', password) END;
                EXECUTE format('GRANT %I TO admin WITH ADMIN OPTION', role_name);
                INSERT INTO warden.managed_roles(name) VALUES (role_name);
            END $$
            """,
            """
            CREATE FUNCTION warden.set_password(role_name text, password text)
            RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                PERFORM warden.check_name(role_name);
                IF NOT EXISTS (SELECT 1 FROM warden.managed_roles WHERE name = role_name) THEN
                    RAISE EXCEPTION 'role % was not made with warden.create_role', role_name USING ERRCODE = '42501';
                END IF;
                EXECUTE format('ALTER ROLE %I PASSWORD %L', role_name, password);
            END $$
            """,
            """
            CREATE FUNCTION warden.drop_role(role_name text)
            RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                PERFORM warden.check_name(role_name);
                IF NOT EXISTS (SELECT 1 FROM warden.managed_roles WHERE name = role_name) THEN
                    RAISE EXCEPTION 'role % was not made with warden.create_role', role_name USING ERRCODE = '42501';
                END IF;
                EXECUTE format('DROP ROLE %I', role_name);
                DELETE FROM warden.managed_roles WHERE name = role_name;
            END $$
            """,
            """
            CREATE FUNCTION warden.check_session(target integer) RETURNS void
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
            DECLARE
                kind text;
                owner name;
                owner_is_superuser boolean;
            BEGIN
                SELECT a.backend_type, r.rolname, r.rolsuper INTO kind, owner, owner_is_superuser
                    FROM pg_stat_activity a LEFT JOIN pg_roles r ON r.oid = a.usesysid
                    WHERE a.pid = target;
                IF kind IS DISTINCT FROM 'client backend' OR owner IS NULL OR owner_is_superuser
                        OR owner IN ('postgres', 'replicator') THEN
                    RAISE EXCEPTION 'process % is not a session admin may end', target
                        USING ERRCODE = '42501',
                              HINT = 'only client sessions of roles other than Warden''s and superusers';
                END IF;
            END $$
            """,
            "REVOKE ALL ON FUNCTION warden.check_session(integer) FROM PUBLIC",
            // The check and the signal are two steps: a session ending in between leaves its pid free for the next
            // process postgres starts, as with pg_terminate_backend itself.
            """
            CREATE FUNCTION warden.cancel_backend(target integer) RETURNS boolean
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                PERFORM warden.check_session(target);
                RETURN pg_cancel_backend(target);
            END $$
            """,
            """
            CREATE FUNCTION warden.terminate_backend(target integer) RETURNS boolean
            LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                PERFORM warden.check_session(target);
                RETURN pg_terminate_backend(target);
            END $$
            """,
            "REVOKE ALL ON FUNCTION warden.cancel_backend(integer) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION warden.terminate_backend(integer) FROM PUBLIC",
            "GRANT EXECUTE ON FUNCTION warden.cancel_backend(integer) TO admin",
            "GRANT EXECUTE ON FUNCTION warden.terminate_backend(integer) TO admin",
            "REVOKE ALL ON FUNCTION warden.create_role(text, text, boolean) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION warden.set_password(text, text) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION warden.drop_role(text) FROM PUBLIC",
            "GRANT EXECUTE ON FUNCTION warden.create_role(text, text, boolean) TO admin",
            "GRANT EXECUTE ON FUNCTION warden.set_password(text, text) TO admin",
            "GRANT EXECUTE ON FUNCTION warden.drop_role(text) TO admin");
}

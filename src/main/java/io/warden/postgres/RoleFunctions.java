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
 * </pre>
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
                IF role_name IN ('postgres', 'replicator', 'warden_peer', 'admin') OR role_name LIKE 'pg\\_%' THEN
                    RAISE EXCEPTION 'role % is reserved', role_name
                        USING ERRCODE = '42501', HINT = 'Warden''s own roles and postgres''s pg_* roles are not yours';
                END IF;
            END $$
            """,
            "REVOKE ALL ON FUNCTION warden.check_name(text) FROM PUBLIC",
            // What set_password and drop_role may touch: a role admin made with create_role, and nothing else.
            """
            CREATE FUNCTION warden.check_managed(role_name text) RETURNS void
            LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                PERFORM warden.check_name(role_name);
                IF NOT EXISTS (SELECT 1 FROM warden.managed_roles WHERE name = role_name) THEN
                    RAISE EXCEPTION 'role % was not made with warden.create_role', role_name USING ERRCODE = '42501';
                END IF;
            END $$
            """,
            "REVOKE ALL ON FUNCTION warden.check_managed(text) FROM PUBLIC",
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
                PERFORM warden.check_managed(role_name);
                EXECUTE format('ALTER ROLE %I PASSWORD %L', role_name, password);
            END $$
            """,
            """
            CREATE FUNCTION warden.drop_role(role_name text)
            RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
            BEGIN
                PERFORM warden.check_managed(role_name);
                EXECUTE format('DROP ROLE %I', role_name);
                DELETE FROM warden.managed_roles WHERE name = role_name;
            END $$
            """,
            "REVOKE ALL ON FUNCTION warden.create_role(text, text, boolean) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION warden.set_password(text, text) FROM PUBLIC",
            "REVOKE ALL ON FUNCTION warden.drop_role(text) FROM PUBLIC",
            "GRANT EXECUTE ON FUNCTION warden.create_role(text, text, boolean) TO admin",
            "GRANT EXECUTE ON FUNCTION warden.set_password(text, text) TO admin",
            "GRANT EXECUTE ON FUNCTION warden.drop_role(text) TO admin");
}

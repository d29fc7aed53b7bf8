package io.warden.postgres;

import static java.util.Objects.requireNonNull;

import java.util.List;

/**
 * One row of {@code pg_settings}, as the server reports it.
 *
 * @param vartype bool, integer, real, string or enum
 * @param unit the base unit of an integer or real setting ("kB", "8kB", "MB", "ms", "s", "min"), or null
 * @param minVal the smallest accepted value, in the base unit; null for bool, string and enum
 * @param maxVal the largest accepted value, in the base unit; null for bool, string and enum
 * @param enumvals the values an enum setting accepts; empty for other types
 * @param context when a change takes effect: postmaster (restart), sighup, superuser, user, backend,
 *     superuser-backend, or internal (never: read-only)
 */
public record PgSetting(
        String name, String vartype, String unit, String minVal, String maxVal, List<String> enumvals, String context) {
    public PgSetting {
        requireNonNull(name, "name is null");
        requireNonNull(vartype, "vartype is null");
        requireNonNull(context, "context is null");
        enumvals = enumvals == null ? List.of() : List.copyOf(enumvals);
    }
}

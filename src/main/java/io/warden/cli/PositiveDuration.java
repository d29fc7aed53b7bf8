package io.warden.cli;

import io.warden.common.Units;
import java.time.Duration;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** An option's duration as people write it ("2s", "1h"; see {@link Units#duration}), which must be positive. */
final class PositiveDuration implements ITypeConverter<Duration> {
    @Override
    public Duration convert(String value) {
        Duration duration;
        try {
            duration = Units.duration(value);
        } catch (IllegalArgumentException e) {
            throw new TypeConversionException(e.getMessage());
        }
        if (duration.isZero() || duration.isNegative()) {
            throw new TypeConversionException("'" + value + "' is not a positive duration (e.g. 30s, 1h)");
        }
        return duration;
    }
}

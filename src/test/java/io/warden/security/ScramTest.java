package io.warden.security;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import org.junit.jupiter.api.Test;

/**
 * The SCRAM-SHA-256 verifier in postgres's format. That postgres accepts it, and a client logs in with the password
 * it was made from, is shown end to end by SecurityIT (the admin role's password reaches postgres only this way).
 */
class ScramTest {
    @Test
    void theVerifierHasPostgressFormatWithTheIterationsTheSaltAndTwo32ByteKeys() {
        String verifier = Scram.verifier("correct-horse-battery");

        assertThat(verifier).matches("SCRAM-SHA-256\\$4096:[A-Za-z0-9+/=]+\\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+");
        String[] keys = verifier.substring(verifier.lastIndexOf('$') + 1).split(":");
        assertThat(Base64.getDecoder().decode(keys[0])).hasSize(32);
        assertThat(Base64.getDecoder().decode(keys[1])).hasSize(32);
    }

    @Test
    void theSameSaltGivesTheSameVerifierAndAFreshSaltAnother() {
        byte[] salt = new byte[16];

        assertThat(Scram.verifier("pw-one-two-three", salt, 4096))
                .isEqualTo(Scram.verifier("pw-one-two-three", salt, 4096))
                .isNotEqualTo(Scram.verifier("pw-one-two-threx", salt, 4096));
        assertThat(Scram.verifier("pw-one-two-three")).isNotEqualTo(Scram.verifier("pw-one-two-three"));
    }

    @Test
    void aPasswordThatWouldNeedSaslPrepIsRefused() {
        assertThatThrownBy(() -> Scram.verifier("pässwort")).isInstanceOf(IllegalArgumentException.class);
    }
}

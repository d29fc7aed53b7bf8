package io.warden.runtime.local;

/**
 * Where the master key that wraps every volume key comes from. A key file beside the deployment by default
 * ({@link FileMasterKey}); a KMS would implement the same three calls (its unwrap-only role would then replace
 * {@link #read}).
 */
public interface MasterKeySource {
    /** The current master key (32 bytes). */
    byte[] read();

    /** Makes {@code next} the master key and destroys the one before: nothing can read it afterwards. */
    void replace(byte[] next);

    /** Where it is, for messages. */
    String where();
}

package io.warden.dcs;

/** The DCS could not be reached or answered with an error within the request timeout. */
public class DcsException extends RuntimeException {
    public DcsException(String message, Throwable cause) {
        super(message, cause);
    }
}

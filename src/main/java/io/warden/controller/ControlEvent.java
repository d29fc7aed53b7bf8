package io.warden.controller;

/**
 * One entry of the controller's event log ({@code warden events}): a decision or a step, with the node it is about,
 * its kind and the sentence that says what happened and why.
 *
 * @param at when (ISO-8601)
 * @param kind {@code decision}, {@code step}, {@code cancel}, {@code failure}, {@code done}, {@code leader}, {@code
 *     cleanup}
 */
public record ControlEvent(String at, String kind, String node, String message) {}

// An error a built-in action reports to the user (bad data, a failed quality
// gate): printed as one line, no stack, and the stage fails.
export class ActionError extends Error {}

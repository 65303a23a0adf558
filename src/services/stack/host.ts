/** Every address of the stack is on loopback. */
export const HOST = '127.0.0.1';

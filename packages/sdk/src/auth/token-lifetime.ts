/** The server refuses service-account tokens that live longer (DESIGN §3). Its own module so the main entry can use it without loading `jose`. */
export const MAX_TOKEN_LIFETIME_SECONDS = 3600;

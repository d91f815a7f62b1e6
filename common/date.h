/*
 * Dates as feeds write them: RFC 822 / RFC 2822 and their usual mistakes
 * (missing seconds or weekday, two-digit years, named and military zones, odd
 * spacing, asctime order), RFC 3339 / ISO 8601 / W3CDTF (fractions, offsets,
 * date only). A string that cannot be read with confidence is refused, never
 * guessed.
 */
#ifndef TG_DATE_H
#define TG_DATE_H

#include <stddef.h>
#include <time.h>

/* Parse the n bytes of s as a date and store it as seconds since the epoch (UTC)
 * in *out. Returns 0, or -1 (out untouched) when s is not a date we can read. */
int tg_date_parse(const char *s, size_t n, time_t *out);

/* tg_date_parse, then format as RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" into out.
 * Returns 0, or -1 (out untouched). */
int tg_date_to_rfc3339(const char *s, size_t n, char out[21]);

/* Seconds since the epoch of a UTC calendar time (no range checks: the caller
 * passes valid fields; month 1-12). */
time_t tg_date_from_civil(int year, int month, int day, int hour, int min, int sec);

#endif

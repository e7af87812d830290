import type { Database } from 'node-sqlite3-wasm';

/** Stop reasons of a session that ran its course; every other reason ended it early. */
const COMPLETED_REASONS: readonly string[] = ['target-reached', 'vehicle-full'];

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** One session as the billing table shows it. A session still charging has the totals of its last payment. */
export interface BillingSession {
  session_id: string;
  /** The other party: the vehicle on a station, the station on a vehicle. */
  peer_id: string | null;
  started_at: number;
  ended_at: number | null;
  status: 'charging' | 'ended';
  energy_wh: number;
  cost: number;
  stop_reason: string | null;
}

/** Energy and tokens paid in one hour or one day (by when each payment arrived). */
export interface BillingBucket {
  /** Unix ms of the bucket's start (days start at local midnight of this host). */
  start: number;
  energy_wh: number;
  tokens: number;
}

export interface BillingSummary {
  /** Unix ms the summary was made. */
  at: number;
  /** The latest sessions, newest first. */
  sessions: BillingSession[];
  /** The last 24 hours and the last 7 days that had payments, oldest first. */
  hours: BillingBucket[];
  days: BillingBucket[];
  /** Every recorded session: energy paid (Wh), tokens, and their ratio in tokens per kWh (null without energy). */
  totals: { sessions: number; energy_wh: number; tokens: number; price_per_kwh: number | null };
  /** Ended sessions, how many of them ended before the vehicle was full or its target reached, and why. */
  ended: { sessions: number; early: number; early_share: number | null; reasons: Record<string, number> };
  /** Sessions still charging: their deposits and the tokens paid so far are in channels, off the Tangle. */
  open: { sessions: number; deposits: number; paid: number };
}

/**
 * The last payment of each session still open: its totals while it charges. An ended session has its record's
 * totals, so its payments are not read again (a summary follows every payment).
 */
const LAST_PAYMENT = `SELECT o.session_id, i.paid_wh, i.total_paid FROM sessions AS o JOIN increments AS i USING (session_id)
  WHERE o.ended_at IS NULL AND i.seq = (SELECT max(seq) FROM increments WHERE session_id = o.session_id)`;

/** Each payment's energy (Wh) and tokens, for the sessions paid since `?`, with the time it arrived. */
const PAYMENTS_SINCE = `SELECT at, amount AS tokens,
  paid_wh - coalesce(lag(paid_wh) OVER (PARTITION BY session_id ORDER BY seq), 0) AS energy_wh
  FROM increments WHERE session_id IN (SELECT DISTINCT session_id FROM increments WHERE at >= ?)`;

/**
 * The live billing view of a records database: the latest sessions, energy and tokens per hour and per day,
 * the average price per kWh, the share of sessions that ended early and why, and the money still in open
 * channels. Every figure is integer tokens or Wh except the two ratios.
 */
export function billingSummary(db: Database, now: number, latest = 20): BillingSummary {
  const rows = (sql: string, values: (string | number)[] = []) => db.all(sql, values) as unknown as Record<string, number | string | null>[];
  const sessions = rows(
    `SELECT s.session_id, CASE s.role WHEN 'station' THEN s.vehicle_id ELSE s.station_id END AS peer_id, s.started_at, s.ended_at,
       coalesce(s.energy_wh, p.paid_wh, 0) AS energy_wh, coalesce(s.total_cost, p.total_paid, 0) AS cost, s.stop_reason
     FROM sessions AS s LEFT JOIN (${LAST_PAYMENT}) AS p USING (session_id) ORDER BY s.started_at DESC, s.session_id LIMIT ?`,
    [latest],
  ).map((r) => ({ ...r, status: r.ended_at === null ? 'charging' : 'ended' }) as BillingSession);

  // Days start at this host's local midnight; the offset is taken now (a DST change shifts one day by an hour).
  const offset = -new Date(now).getTimezoneOffset() * 60_000;
  const buckets = (size: number, since: number, shift: number): BillingBucket[] =>
    rows(
      `SELECT ((at + ?) / ?) * ? - ? AS start, sum(energy_wh) AS energy_wh, sum(tokens) AS tokens
       FROM (${PAYMENTS_SINCE}) WHERE at >= ? GROUP BY start ORDER BY start`,
      [shift, size, size, shift, since, since],
    ) as unknown as BillingBucket[];
  const startOfToday = Math.floor((now + offset) / DAY_MS) * DAY_MS - offset;

  const total = rows(
    `SELECT count(*) AS sessions, coalesce(sum(coalesce(s.energy_wh, p.paid_wh, 0)), 0) AS energy_wh,
       coalesce(sum(coalesce(s.total_cost, p.total_paid, 0)), 0) AS tokens
     FROM sessions AS s LEFT JOIN (${LAST_PAYMENT}) AS p USING (session_id)`,
  )[0] as { sessions: number; energy_wh: number; tokens: number };

  const completed = COMPLETED_REASONS.map(() => '?').join(', ');
  const endedCount = Number(rows('SELECT count(*) AS n FROM sessions WHERE ended_at IS NOT NULL')[0].n);
  const early = rows(`SELECT stop_reason, count(*) AS n FROM sessions WHERE ended_at IS NOT NULL AND stop_reason NOT IN (${completed}) GROUP BY stop_reason`, [...COMPLETED_REASONS]);
  const earlyCount = early.reduce((n, r) => n + Number(r.n), 0);

  const open = rows(
    `SELECT count(*) AS sessions, coalesce(sum(coalesce(s.deposit_vehicle, 0) + coalesce(s.deposit_station, 0)), 0) AS deposits,
       coalesce(sum(coalesce(p.total_paid, 0)), 0) AS paid
     FROM sessions AS s LEFT JOIN (${LAST_PAYMENT}) AS p USING (session_id) WHERE s.ended_at IS NULL`,
  )[0] as { sessions: number; deposits: number; paid: number };

  return {
    at: now,
    sessions,
    hours: buckets(HOUR_MS, Math.floor(now / HOUR_MS) * HOUR_MS - 23 * HOUR_MS, 0),
    days: buckets(DAY_MS, startOfToday - 6 * DAY_MS, offset),
    totals: { ...total, price_per_kwh: total.energy_wh > 0 ? Math.round((total.tokens * 1000 * 100) / total.energy_wh) / 100 : null },
    ended: {
      sessions: endedCount,
      early: earlyCount,
      early_share: endedCount > 0 ? earlyCount / endedCount : null,
      reasons: Object.fromEntries(early.map((r) => [String(r.stop_reason ?? 'unknown'), Number(r.n)])),
    },
    open,
  };
}

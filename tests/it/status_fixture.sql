-- A campaign of 8 slots every 3 h from 2025-03-01T00:00Z, seen at 12:00Z:
-- slot 0 issued, 1 missed, 2 rejected, 3 issued, 4 planned (open); next due: slot 5 at 15:00.
INSERT INTO campaigns(id, started_at, interval_secs, slots, min_invoices, max_invoices, min_amount, max_amount, created_at)
VALUES (1, '2025-03-01T00:00:00.000000Z', 10800, 8, 2, 3, 1000, 100000, '2025-03-01T00:00:00.000000Z');

INSERT INTO batches(id, campaign_id, slot, tag, status, body, invoice_count, total_amount, attempts, errors, due_at, created_at, updated_at, issued_at) VALUES
 (1, 1, 0, 'stark-test01-c1-b1', 'issued',   '{}', 3, 30500, 1, NULL, '2025-03-01T00:00:00.000000Z', '2025-03-01T00:00:05.000000Z', '2025-03-01T00:00:06.000000Z', '2025-03-01T00:00:06.000000Z'),
 (2, 1, 1, 'stark-test01-c1-b2', 'missed',   NULL, 0, 0, 0, NULL, '2025-03-01T03:00:00.000000Z', '2025-03-01T06:00:05.000000Z', '2025-03-01T06:00:05.000000Z', NULL),
 (3, 1, 2, 'stark-test01-c1-b3', 'rejected', '{}', 1, 2000, 1, '[{"code":"invalidTaxId","message":"Invalid tax ID: 123.456.789-10"}]', '2025-03-01T06:00:00.000000Z', '2025-03-01T06:00:05.000000Z', '2025-03-01T06:00:06.000000Z', NULL),
 (4, 1, 3, 'stark-test01-c1-b4', 'issued',   '{}', 3, 23500, 1, NULL, '2025-03-01T09:00:00.000000Z', '2025-03-01T09:00:05.000000Z', '2025-03-01T09:00:06.000000Z', '2025-03-01T09:00:06.000000Z'),
 (5, 1, 4, 'stark-test01-c1-b5', 'planned',  '{}', 2, 3000, 0, NULL, '2025-03-01T12:00:00.000000Z', '2025-03-01T11:59:00.000000Z', '2025-03-01T11:59:00.000000Z', NULL);

INSERT INTO invoices(rowid_, batch_id, campaign_id, position, name, tax_id, amount, invoice_id, status, created_at, updated_at) VALUES
 (1, 1, 1, 0, 'Ana Souza',      '012.345.678-90', 10000, 'inv-1', 'paid',    '2025-03-01T00:00:06+00:00', '2025-03-01T10:00:00.000000Z'),
 (2, 1, 1, 1, 'Bruno Lima',     '337.451.076-08', 20000, 'inv-2', 'paid',    '2025-03-01T00:00:06+00:00', '2025-03-01T09:00:00.000000Z'),
 (3, 1, 1, 2, 'Carla Dias',     '529.982.247-25',   500, 'inv-5', 'paid',    '2025-03-01T00:00:06+00:00', '2025-03-01T08:00:00.000000Z'),
 (4, 3, 1, 0, 'Davi Rocha',     '123.456.789-10',  2000, NULL,    NULL,      NULL,                        '2025-03-01T06:00:06.000000Z'),
 (5, 4, 1, 0, 'Elisa Prado',    '111.444.777-35',  3000, 'inv-3', 'paid',    '2025-03-01T09:00:06+00:00', '2025-03-01T11:00:00.000000Z'),
 (6, 4, 1, 1, 'Fabio Nunes',    '390.533.447-05', 15000, 'inv-4', 'paid',    '2025-03-01T09:00:06+00:00', '2025-03-01T11:50:00.000000Z'),
 (7, 4, 1, 2, 'Gabi Torres',    '853.513.468-93',  5500, 'inv-6', 'created', '2025-03-01T09:00:06+00:00', '2025-03-01T10:30:00.000000Z'),
 (8, 5, 1, 0, 'Hugo Melo',      '713.286.760-55',  1000, NULL,    NULL,      NULL,                        '2025-03-01T11:59:00.000000Z'),
 (9, 5, 1, 1, 'Iara Campos',    '048.721.905-30',  2000, NULL,    NULL,      NULL,                        '2025-03-01T11:59:00.000000Z');

-- inv-1: attempt 1 failed, attempt 2 succeeded (settled, no attention)
-- inv-2: attempt 1 failed, attempt 2 processing, recorded 3 h ago (stale + failed transfer)
-- inv-3: attempt 1 rejected, recorded 1 h ago (stale + rejected transfer)
-- inv-4: recorded 10 min ago, no transfer yet (not stale)
-- inv-5: fee >= amount (skipped)
-- inv-6: recorded 90 min ago, no transfer (stale)
-- foreign-9: not an invoice of this ledger (foreign)
INSERT INTO credits(invoice_id, log_id, amount, fee, net, credited_at, recorded_at, source, skip_reason) VALUES
 ('inv-1', 'log-1', 10000,  50,  9950, '2025-03-01T09:59:00+00:00', '2025-03-01T10:00:00.000000Z', 'webhook', NULL),
 ('inv-2', 'log-2', 20000,  50, 19950, '2025-03-01T08:59:00+00:00', '2025-03-01T09:00:00.000000Z', 'sweep', NULL),
 ('inv-3', 'log-3',  3000,  50,  2950, '2025-03-01T10:59:00+00:00', '2025-03-01T11:00:00.000000Z', 'webhook', NULL),
 ('inv-4', 'log-4', 15000,  50, 14950, '2025-03-01T11:49:00+00:00', '2025-03-01T11:50:00.000000Z', 'webhook', NULL),
 ('inv-5', 'log-5',   500, 500,     0, '2025-03-01T07:59:00+00:00', '2025-03-01T08:00:00.000000Z', 'logs', 'nothing to forward: fee 500 >= amount 500'),
 ('inv-6', 'log-6',  5500,  50,  5450, '2025-03-01T10:29:00+00:00', '2025-03-01T10:30:00.000000Z', 'sweep', NULL),
 ('foreign-9', 'log-9', 777, 0,  777, '2025-03-01T11:10:00+00:00', '2025-03-01T11:10:00.000000Z', 'webhook', NULL);

INSERT INTO transfers(id, invoice_id, attempt, external_id, tag, amount, body, status, transfer_id, fee, errors, created_at, updated_at, sent_at, settled_at) VALUES
 (1, 'inv-1', 1, 'stark-test01-inv-1-1', 'stark-test01-transfer', 9950, '{}', 'failed',     'tr-1', 0,    NULL, '2025-03-01T10:00:01.000000Z', '2025-03-01T10:05:00.000000Z', '2025-03-01T10:00:02.000000Z', '2025-03-01T10:05:00.000000Z'),
 (2, 'inv-1', 2, 'stark-test01-inv-1-2', 'stark-test01-transfer', 9950, '{}', 'success',    'tr-2', 0,    NULL, '2025-03-01T10:10:00.000000Z', '2025-03-01T10:15:00.000000Z', '2025-03-01T10:10:01.000000Z', '2025-03-01T10:15:00.000000Z'),
 (3, 'inv-2', 1, 'stark-test01-inv-2-1', 'stark-test01-transfer', 19950, '{}', 'failed',    'tr-3', 0,    NULL, '2025-03-01T09:00:01.000000Z', '2025-03-01T09:30:00.000000Z', '2025-03-01T09:00:02.000000Z', '2025-03-01T09:30:00.000000Z'),
 (4, 'inv-2', 2, 'stark-test01-inv-2-2', 'stark-test01-transfer', 19950, '{}', 'processing','tr-4', NULL, NULL, '2025-03-01T09:40:00.000000Z', '2025-03-01T09:40:01.000000Z', '2025-03-01T09:40:01.000000Z', NULL),
 (5, 'inv-3', 1, 'stark-test01-inv-3-1', 'stark-test01-transfer', 2950, '{}', 'rejected',   NULL,   NULL, '[{"code":"invalidAmount","message":"Amount exceeds the available balance"}]', '2025-03-01T11:00:01.000000Z', '2025-03-01T11:00:02.000000Z', NULL, NULL);

-- inv-x1: an extra found under batch 4's tag (the bank applied it twice), cancelled unpaid.
INSERT INTO cancelled_invoices(invoice_id, batch_id, name, tax_id, amount, cancelled_at) VALUES
 ('inv-x1', 4, 'Elisa Prado', '111.444.777-35', 3000, '2025-03-01T09:10:00.000000Z');

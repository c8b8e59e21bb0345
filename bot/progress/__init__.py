"""Progress renderers: the chart, the streak, /history, the data export and the physio PDF.

Pure: no database, no Telegram, no clock reads. The caller fills the frozen dataclasses in
`bot.progress.data` (and `ExportData`, `PhysioData`) from the database, passes `today` or
`generated_at` in, and gets text or bytes ready to send.

Import from the modules themselves (`bot.progress.chart`, `.streak`, `.history`, `.export`,
`.physio`): this package does not re-export them, so `/history` and the streak do not pay
for importing matplotlib and fpdf2.
"""

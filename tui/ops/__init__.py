"""Operations shared by the CLI and the app: connect, import, export, delete, list.

Pure of Textual; each module does one job on top of the client (`tui.api`), the index
(`tui.store`) and the offline backend (`tui.local`).
"""

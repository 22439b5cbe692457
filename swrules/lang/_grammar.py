"""The grammar of the rule language (parsed with lark, LALR; nothing is ever evaluated as Python)."""

from __future__ import annotations

from typing import Final

GRAMMAR: Final = r"""
program: stmt*

?stmt: "match" pattern                                -> match_stmt
     | "collect" pattern                              -> collect_stmt
     | "let" NAME "=" expr                            -> let_stmt
     | "when" expr                                    -> when_stmt
     | "judged" expr                                  -> judged_stmt
     | "emit" NAME ["." NAME] "{" [field ("," field)* [","]] "}"  -> emit_stmt
     | "for" NAME "in" expr "{" stmt* "}"             -> for_stmt
     | "if" expr "{" block "}" ["else" "{" block "}"] -> if_stmt
     | "def" NAME "(" [arg ("," arg)*] ")" "=" expr   -> def_stmt

block: stmt*
arg: NAME [":" NAME]

pattern: NAME ":" NAME ["where" expr]
field: NAME "=" expr

?expr: or_expr
     | "if" expr "then" expr "else" expr              -> ifelse

?or_expr: and_expr
        | or_expr "or" and_expr                       -> or_
?and_expr: not_expr
         | and_expr "and" not_expr                    -> and_
?not_expr: comparison
         | "not" not_expr                             -> not_
?comparison: sum
           | sum COMPOP sum                           -> compare
           | sum "in" sum                             -> in_
           | sum "not" "in" sum                       -> not_in
?sum: product
    | sum ADDOP product                               -> arith
?product: unary
        | product MULOP unary                         -> arith
?unary: postfix
      | "-" unary                                     -> neg
?postfix: atom
        | postfix "." NAME                            -> attr
        | postfix "[" expr "]"                        -> index
?atom: NUMBER                                         -> number
     | STRING                                         -> string
     | "true"                                         -> true
     | "false"                                        -> false
     | "none"                                         -> none
     | NAME                                           -> name
     | NAME "(" [expr ("," expr)*] ")"                -> call
     | "[" expr "for" NAME "in" or_expr ["if" or_expr] "]"  -> comp
     | "[" [expr ("," expr)*] "]"                     -> list
     | "(" expr ")"
     | "(" expr "," [expr ("," expr)*] ")"            -> tuple

COMPOP: "==" | "!=" | "<=" | ">=" | "<" | ">"
ADDOP: "+" | "-"
MULOP: "*" | "/"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /\d+(\.\d+)?/
STRING: /"([^"\\]|\\.)*"/
COMMENT: /#[^\n]*/

%import common.WS
%ignore WS
%ignore COMMENT
"""

package main

import (
	"github.com/urfave/cli/v2"
)

// bashCompletion asks nv2 itself (urfave/cli's --generate-bash-completion)
// for the commands that may follow what is typed so far.
const bashCompletion = `# nv2 completion for bash: source <(nv2 completion bash)
_nv2_complete() {
  local cur="${COMP_WORDS[COMP_CWORD]}" path=() w words
  # The command path: the words before the cursor that name (sub)commands.
  for w in "${COMP_WORDS[@]:1:$((COMP_CWORD-1))}"; do
    [[ "$w" == -* ]] && continue
    words=$("${COMP_WORDS[0]}" "${path[@]}" --generate-bash-completion 2>/dev/null)
    [[ " $(echo $words) " == *" $w "* ]] || break
    path+=("$w")
  done
  if [[ "$cur" == -* ]]; then
    # The flags the command's help lists.
    words=$("${COMP_WORDS[0]}" "${path[@]}" --help 2>/dev/null | sed -n '/OPTIONS:/,$p' | grep -oE -- '(^|[ ,])--?[a-zA-Z][a-zA-Z-]*' | tr -d ' ,' | sort -u)
  else
    words=$("${COMP_WORDS[0]}" "${path[@]}" --generate-bash-completion 2>/dev/null)
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o bashdefault -o default -F _nv2_complete nv2
`

// zshCompletion does the same through zsh's bash completion emulation.
const zshCompletion = `# nv2 completion for zsh: source <(nv2 completion zsh)
autoload -U +X bashcompinit && bashcompinit
` + bashCompletion

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script (bash or zsh)",
		ArgsUsage: "bash|zsh",
		Description: "Completes nv2's commands, subcommands and flags in your shell:\n\n" +
			"   source <(nv2 completion bash)     # add to ~/.bashrc to keep it",
		Action: func(c *cli.Context) error {
			shell, err := oneArg(c, "shell name (bash or zsh)")
			if err != nil {
				return err
			}
			switch shell {
			case "bash":
				printf(c.App.Writer, "%s", bashCompletion)
			case "zsh":
				printf(c.App.Writer, "%s", zshCompletion)
			default:
				return usageErrorf("no completion for %q: use bash or zsh", shell)
			}
			return nil
		},
	}
}
